/**
 * One step of GPU work: every dispatch, copy and readback of (say) a whole forward pass, recorded by the launchers and
 * encoded into ONE command encoder at submit. All uniform structs go into one arena written with a single
 * writeBuffer per submit (webgpu-engine.md, lesson 1). Errors the GPU reports come back as GpuKernelError naming the
 * kernel, never as silent wrong numbers.
 */
import type { BufferRange } from './bind-group-cache.ts';
import type { DType } from './dtype.ts';
import { GpuKernelError, KernelArgumentError } from './errors.ts';
import type { Gpu } from './gpu.ts';
import { bindingSize, byteSize, type Tensor } from './tensor.ts';

const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export type Binding = Tensor | BufferRange;

export interface Dispatch {
  kernel: string;
  pipeline: GPUComputePipeline;
  /** Packed uniform struct, bound at binding 0; storage bindings then follow from binding 1. */
  uniforms?: Uint8Array;
  bindings: readonly Binding[];
  workgroups: readonly [number, number?, number?];
}

type Command =
  | { kind: 'dispatch'; dispatch: Dispatch; ranges: BufferRange[]; uniformOffset: number }
  | { kind: 'copy'; src: BufferRange; dst: BufferRange }
  | { kind: 'clear'; range: BufferRange };

interface PendingRead {
  staging: GPUBuffer;
  size: number;
  resolve: (bytes: Uint8Array) => void;
  reject: (error: Error) => void;
}

function toRange(b: Binding): BufferRange {
  if ('dtype' in b) return { buffer: b.buffer, offset: b.offset, size: bindingSize(b) };
  return b;
}

export class Step {
  private readonly commands: Command[] = [];
  private readonly reads: PendingRead[] = [];
  private readonly scratchBuffers: GPUBuffer[] = [];
  private uniformBytes = 0;
  private submitted = false;
  private timing: { querySet: GPUQuerySet; passes: number } | null = null;
  /** GPU time of this step's compute passes in milliseconds, after submit() of a step made with timing on. */
  gpuTimeMs: number | undefined;

  constructor(
    readonly gpu: Gpu,
    readonly label: string,
  ) {}

  get dispatchCount(): number {
    return this.commands.filter((c) => c.kind === 'dispatch').length;
  }

  dispatch(d: Dispatch): void {
    this.assertOpen();
    const maxDim = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    for (const n of d.workgroups) {
      if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > maxDim)) {
        throw new KernelArgumentError(d.kernel, `workgroup count ${n} is outside [0, ${maxDim}] (use a 2-D grid)`);
      }
    }
    if (d.workgroups.some((n) => n === 0)) return; // nothing to do, e.g. an empty batch
    let uniformOffset = -1;
    if (d.uniforms) {
      const align = this.gpu.limits.minUniformBufferOffsetAlignment;
      uniformOffset = Math.ceil(this.uniformBytes / align) * align;
      this.uniformBytes = uniformOffset + d.uniforms.byteLength;
    }
    const ranges = d.bindings.map(toRange);
    const maxBinding = this.gpu.limits.maxStorageBufferBindingSize;
    for (const r of ranges) {
      if (r.size > maxBinding) {
        throw new KernelArgumentError(d.kernel, `binding of ${r.size} bytes exceeds the adapter's ${maxBinding}`);
      }
    }
    this.commands.push({ kind: 'dispatch', dispatch: d, ranges, uniformOffset });
  }

  /**
   * A temporary tensor that lives for this step only (split-K partials, intermediate activations). It comes from the
   * buffer pool and goes back at submit: later steps run after this one in queue order, so reuse is safe.
   */
  scratch(dtype: DType, shape: readonly number[], label: string): Tensor {
    this.assertOpen();
    const bytes = Math.max(4, Math.ceil(byteSize({ dtype, shape }) / 4) * 4);
    const buffer = this.gpu.pool.acquire(bytes, STORAGE_USAGE, label);
    this.scratchBuffers.push(buffer);
    return { buffer, dtype, shape: [...shape], offset: 0, label };
  }

  copy(src: Binding, dst: Binding, size?: number): void {
    this.assertOpen();
    const s = toRange(src);
    const t = toRange(dst);
    const bytes = size ?? Math.min(s.size, t.size);
    this.commands.push({ kind: 'copy', src: { ...s, size: bytes }, dst: { ...t, size: bytes } });
  }

  clear(target: Binding): void {
    this.assertOpen();
    this.commands.push({ kind: 'clear', range: toRange(target) });
  }

  /** Copy `source` to a staging buffer at the end of this step; resolves with its bytes after submit(). */
  read(source: Binding, size?: number): Promise<Uint8Array> {
    this.assertOpen();
    const range = toRange(source);
    const bytes = Math.ceil((size ?? range.size) / 4) * 4;
    const staging = this.gpu.pool.acquire(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    this.commands.push({
      kind: 'copy',
      src: { ...range, size: bytes },
      dst: { buffer: staging, offset: 0, size: bytes },
    });
    return new Promise((resolve, reject) => this.reads.push({ staging, size: bytes, resolve, reject }));
  }

  /**
   * Measure this step's GPU time with timestamp queries (when the adapter has them; else gpuTimeMs stays undefined).
   * For benchmarks: it adds a readback to the step.
   */
  enableTiming(maxPasses = 64): void {
    if (!this.gpu.features.timestampQuery) return;
    this.timing = {
      querySet: this.gpu.device.createQuerySet({
        label: `${this.label} timing`,
        type: 'timestamp',
        count: maxPasses * 2,
      }),
      passes: 0,
    };
  }

  private beginPass(encoder: GPUCommandEncoder): GPUComputePassEncoder {
    const t = this.timing;
    if (!t || t.passes * 2 >= t.querySet.count) return encoder.beginComputePass({ label: this.label });
    const index = t.passes++;
    return encoder.beginComputePass({
      label: this.label,
      timestampWrites: {
        querySet: t.querySet,
        beginningOfPassWriteIndex: 2 * index,
        endOfPassWriteIndex: 2 * index + 1,
      },
    });
  }

  private async readTiming(encoderDone: Promise<Uint8Array> | null): Promise<void> {
    if (!encoderDone || !this.timing) return;
    const stamps = new BigUint64Array((await encoderDone).slice().buffer);
    let ns = 0n;
    for (let i = 0; i < this.timing.passes; i++) ns += stamps[2 * i + 1] - stamps[2 * i];
    this.gpuTimeMs = Number(ns) / 1e6;
    this.timing.querySet.destroy();
  }

  private assertOpen(): void {
    if (this.submitted) throw new Error(`step "${this.label}" was already submitted`);
  }

  /** Encode everything into one command buffer, submit it, check for GPU errors, then resolve the reads. */
  async submit(): Promise<void> {
    this.assertOpen();
    this.submitted = true;
    const gpu = this.gpu;
    gpu.throwIfLost();
    const device = gpu.device;
    const arena = gpu.uniformArena(this.uniformBytes);
    const check = gpu.checkErrors;
    if (check) {
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
    }
    const encoder = device.createCommandEncoder({ label: this.label });
    let pass: GPUComputePassEncoder | null = null;
    const staging = this.uniformBytes > 0 ? new Uint8Array(this.uniformBytes) : null;
    for (const c of this.commands) {
      if (c.kind === 'dispatch') {
        const d = c.dispatch;
        const ranges = c.ranges.slice();
        if (d.uniforms && staging) {
          staging.set(d.uniforms, c.uniformOffset);
          ranges.unshift({ buffer: arena, offset: c.uniformOffset, size: d.uniforms.byteLength });
        }
        pass ??= this.beginPass(encoder);
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, gpu.bindGroups.get(d.pipeline, ranges, d.kernel));
        pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1] ?? 1, d.workgroups[2] ?? 1);
      } else {
        pass?.end();
        pass = null;
        if (c.kind === 'copy')
          encoder.copyBufferToBuffer(c.src.buffer, c.src.offset, c.dst.buffer, c.dst.offset, c.src.size);
        else encoder.clearBuffer(c.range.buffer, c.range.offset, c.range.size);
      }
    }
    pass?.end();
    let timestamps: Promise<Uint8Array> | null = null;
    if (this.timing && this.timing.passes > 0) {
      const bytes = this.timing.passes * 16;
      const resolved = gpu.pool.acquire(bytes, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'timestamps');
      encoder.resolveQuerySet(this.timing.querySet, 0, this.timing.passes * 2, resolved, 0);
      const readback = gpu.pool.acquire(
        bytes,
        GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        'timestamps readback',
      );
      encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
      gpu.pool.release(resolved);
      timestamps = new Promise((resolve, reject) =>
        this.reads.push({ staging: readback, size: bytes, resolve, reject }),
      );
    }
    if (staging) device.queue.writeBuffer(arena, 0, staging);
    device.queue.submit([encoder.finish()]);
    for (const buffer of this.scratchBuffers.splice(0)) gpu.pool.release(buffer);

    let failure: Error | null = null;
    if (check) {
      const validation = await device.popErrorScope();
      const oom = await device.popErrorScope();
      const error = validation ?? oom;
      if (error) failure = new GpuKernelError(this.kernelNamed(error.message), error.message);
    }
    const pipelineError = await gpu.takePipelineErrors();
    if (pipelineError) failure = pipelineError;
    failure ??= gpu.takeUncapturedError();
    if (failure) {
      for (const r of this.reads) {
        gpu.pool.release(r.staging);
        r.reject(failure);
      }
      throw failure;
    }
    await Promise.all(this.reads.map((r) => this.finishRead(r)));
    await this.readTiming(timestamps);
  }

  private async finishRead(r: PendingRead): Promise<void> {
    try {
      await r.staging.mapAsync(GPUMapMode.READ, 0, r.size);
      const bytes = new Uint8Array(r.staging.getMappedRange(0, r.size).slice(0));
      r.staging.unmap();
      r.resolve(bytes);
    } catch (error) {
      r.reject(error as Error);
    } finally {
      this.gpu.pool.release(r.staging);
    }
  }

  /** Dawn's messages quote labels ([ComputePipeline "rmsnorm"]); name the kernel found there, else list the step's. */
  private kernelNamed(message: string): string {
    const kernels = new Set<string>();
    for (const c of this.commands) if (c.kind === 'dispatch') kernels.add(c.dispatch.kernel);
    for (const k of kernels) if (message.includes(`"${k}"`)) return k;
    return `step "${this.label}" (kernels: ${[...kernels].join(', ') || 'none'})`;
  }
}
