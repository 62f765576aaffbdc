/**
 * Counts the GPU buffers a device creates and destroys while a tracker is open, so a test can assert that a failed
 * operation left no GPU memory behind.
 */
export interface BufferTracker {
  /** Buffers created since start() and not destroyed, with their labels. */
  live(): string[];
  /** Their bytes. */
  bytes(): number;
  stop(): void;
}

export function trackBuffers(device: GPUDevice): BufferTracker {
  const live = new Map<GPUBuffer, string>();
  const sizes = new Map<GPUBuffer, number>();
  const original = device.createBuffer;
  device.createBuffer = function (descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = original.call(this, descriptor);
    live.set(buffer, descriptor.label ?? '(unlabelled)');
    sizes.set(buffer, descriptor.size);
    const destroy = buffer.destroy;
    buffer.destroy = function () {
      live.delete(buffer);
      sizes.delete(buffer);
      return destroy.call(this);
    };
    return buffer;
  };
  return {
    live: () => [...live.values()],
    bytes: () => [...sizes.values()].reduce((a, b) => a + b, 0),
    stop: () => {
      device.createBuffer = original;
    },
  };
}
