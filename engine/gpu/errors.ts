/**
 * Errors a caller of the GPU runtime can branch on. Every message names the kernel (or the step) so a failure in a
 * forward pass of 300 dispatches points at the one that broke.
 */

/** A launcher was given a tensor of the wrong shape or dtype, or parameters out of range. Thrown before any GPU work. */
export class KernelArgumentError extends Error {
  override name = 'KernelArgumentError';
  constructor(
    readonly kernel: string,
    detail: string,
  ) {
    super(`${kernel}: ${detail}`);
  }
}

/** The GPU rejected work (WGSL compile error, validation error, out of memory), reported with the kernel's label. */
export class GpuKernelError extends Error {
  override name = 'GpuKernelError';
  constructor(
    readonly kernel: string,
    detail: string,
  ) {
    super(`GPU error in ${kernel}: ${detail}`);
  }
}

/** The device was lost (driver reset, destroyed, out of memory): every tensor on it is gone; reload to continue. */
export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
  constructor(readonly reason: string) {
    super(`GPU device lost: ${reason}. Reload the model to continue.`);
  }
}

/** No WebGPU adapter could be found, with what was tried. */
export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}
