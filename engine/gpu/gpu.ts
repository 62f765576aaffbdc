/**
 * The GPU runtime the engine runs on: one device with its pipeline cache, buffer pool, bind-group cache and uniform
 * arena. Launchers (engine/gpu/kernels/) record into a Step; `gpu.step(label)` starts one.
 */

import { isQuantType } from '../quant/types.ts';
import { BindGroupCache } from './bind-group-cache.ts';
import { BufferPool } from './buffer-pool.ts';
import {
  type AcquiredDevice,
  type AdapterDescription,
  acquireDevice,
  type DeviceOptions,
  type GpuFeatures,
} from './device.ts';
import { type DType, decodeValues, encodeValues } from './dtype.ts';
import { GpuDeviceLostError, GpuKernelError } from './errors.ts';
import { PipelineCache } from './pipeline-cache.ts';
import { Step } from './step.ts';
import { byteSize, type Tensor } from './tensor.ts';

export interface GpuOptions extends DeviceOptions {
  /** Check GPU error scopes at every submit (default true). The engine may turn this off once a model runs cleanly. */
  checkErrors?: boolean;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export class Gpu {
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
  readonly features: GpuFeatures;
  readonly limits: GPUSupportedLimits;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  readonly bindGroups: BindGroupCache;
  checkErrors: boolean;
  private arena: GPUBuffer | null = null;
  private lost: string | null = null;
  private uncaptured: string | null = null;

  static async create(options: GpuOptions = {}): Promise<Gpu> {
    return new Gpu(await acquireDevice(options), options.checkErrors ?? true);
  }

  private constructor(acquired: AcquiredDevice, checkErrors: boolean) {
    this.device = acquired.device;
    this.adapter = acquired.adapter;
    this.features = acquired.features;
    this.limits = acquired.limits;
    this.checkErrors = checkErrors;
    this.pipelines = new PipelineCache(this.device);
    this.pool = new BufferPool(this.device);
    this.bindGroups = new BindGroupCache(this.device);
    this.device.lost.then((info) => {
      this.lost = `${info.reason}: ${info.message}`;
    });
    this.device.addEventListener('uncapturederror', (event) => {
      this.uncaptured ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  step(label: string): Step {
    this.throwIfLost();
    return new Step(this, label);
  }

  throwIfLost(): void {
    if (this.lost !== null) throw new GpuDeviceLostError(this.lost);
  }

  /** @internal The uniform arena, grown (to a power of two) when a step needs more than it has. */
  uniformArena(bytes: number): GPUBuffer {
    if (!this.arena || this.arena.size < bytes) {
      this.arena?.destroy();
      this.bindGroups.clear();
      const size = Math.max(4096, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
      this.arena = this.device.createBuffer({
        label: 'uniform-arena',
        size,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
    }
    return this.arena;
  }

  /** @internal */
  async takePipelineErrors(): Promise<GpuKernelError | null> {
    const pending = this.pipelines.pendingErrors.splice(0);
    for (const error of await Promise.all(pending)) {
      if (error) return new GpuKernelError(error.kernel, error.message);
    }
    return null;
  }

  /** @internal */
  takeUncapturedError(): GpuKernelError | null {
    const message = this.uncaptured;
    this.uncaptured = null;
    if (message === null) return null;
    const kernel = /\[ComputePipeline "([^"]+)"\]/.exec(message)?.[1] ?? 'an earlier step';
    return new GpuKernelError(kernel, message);
  }

  /** A storage tensor of its own buffer. Rounded to 4 bytes; the caller destroys it with `tensor.buffer.destroy()`. */
  createTensor(dtype: DType, shape: readonly number[], label: string): Tensor {
    const size = Math.max(4, Math.ceil(byteSize({ dtype, shape }) / 4) * 4);
    const buffer = this.device.createBuffer({ label, size, usage: STORAGE });
    return { buffer, dtype, shape: [...shape], offset: 0, label };
  }

  /** Create a tensor holding `values` (f32 numbers, converted to `dtype`). */
  upload(dtype: DType, shape: readonly number[], values: ArrayLike<number>, label: string): Tensor {
    const t = this.createTensor(dtype, shape, label);
    this.writeBytes(t, encodeValues(values, dtype));
    return t;
  }

  /** Write raw bytes (already in the tensor's dtype) into a tensor, padding to whole words. */
  writeBytes(t: Tensor, bytes: Uint8Array, byteOffset = 0): void {
    const padded =
      bytes.byteLength % 4 === 0
        ? bytes
        : (() => {
            const p = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
            p.set(bytes);
            return p;
          })();
    this.device.queue.writeBuffer(t.buffer, t.offset + byteOffset, padded);
  }

  /** Read a tensor's raw bytes back (one submit and map: for tests and tools, not the token loop). */
  async readBytes(t: Tensor): Promise<Uint8Array> {
    const step = this.step(`read ${t.label}`);
    const bytes = step.read(t);
    await step.submit();
    return (await bytes).subarray(0, byteSize(t));
  }

  /** Read a float tensor back as f32 values. */
  async read(t: Tensor): Promise<Float32Array> {
    if (t.dtype === 'u32' || t.dtype === 'i32') throw new Error(`read(${t.label}): use readInts for ${t.dtype}`);
    if (isQuantType(t.dtype)) throw new Error(`read(${t.label}): ${t.dtype} blocks: readBytes, then dequantize`);
    return decodeValues(await this.readBytes(t), t.dtype);
  }

  /** Read a u32 or i32 tensor back. */
  async readInts(t: Tensor): Promise<Uint32Array | Int32Array> {
    const bytes = (await this.readBytes(t)).slice();
    return t.dtype === 'i32' ? new Int32Array(bytes.buffer) : new Uint32Array(bytes.buffer);
  }

  destroy(): void {
    this.pool.trim();
    this.arena?.destroy();
    this.device.destroy();
  }
}
