/**
 * A contiguous KV cache for one sequence: per layer K and V of [capacity, kvHeads, D] f32. The paged cache
 * (engine/kv/) replaces it for serving; this one backs single-sequence generation and the tests of the forward pass.
 * As an AttentionBackend it appends each step's K/V at `length`; the caller advances `length` after the step.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { attentionDecode, attentionPrefill } from '../gpu/kernels/attention.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelDims } from './dims.ts';
import type { AttentionBackend } from './gpu-forward.ts';

export class ContiguousKvCache implements AttentionBackend {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  /** Tokens whose K and V are written. */
  length = 0;

  constructor(
    gpu: Gpu,
    dims: ModelDims,
    readonly capacity: number,
  ) {
    const bytes = capacity * dims.kvHeads * dims.headDim * 4;
    if (bytes > gpu.limits.maxStorageBufferBindingSize) {
      throw new Error(
        `KV cache of ${capacity} tokens needs ${bytes} bytes per layer, over this adapter's ${gpu.limits.maxStorageBufferBindingSize}-byte binding limit; use a shorter context`,
      );
    }
    for (let l = 0; l < dims.numLayers; l++) {
      this.k.push(gpu.createTensor('f32', [capacity, dims.kvHeads, dims.headDim], `k cache ${l}`));
      this.v.push(gpu.createTensor('f32', [capacity, dims.kvHeads, dims.headDim], `v cache ${l}`));
    }
  }

  /** Append the new K/V at rows length..length+T-1, then attend over rows 0..length+T-1 (causally). */
  record(step: Step, layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor): void {
    const T = q.shape[0];
    const start = this.length;
    if (start + T > this.capacity) {
      throw new Error(`context full: ${start} + ${T} tokens exceed the KV cache's ${this.capacity}`);
    }
    const rowBytes = k.shape[1] * k.shape[2] * 4;
    step.copy(k, { buffer: this.k[layer].buffer, offset: start * rowBytes, size: T * rowBytes });
    step.copy(v, { buffer: this.v[layer].buffer, offset: start * rowBytes, size: T * rowBytes });
    const kvLength = start + T;
    const cache = { k: this.k[layer], v: this.v[layer] };
    if (T === 1) attentionDecode(step, { q, ...cache, out, kvLength });
    else attentionPrefill(step, { q, ...cache, out, queryStart: start, kvLength });
  }

  destroy(): void {
    for (const t of [...this.k, ...this.v]) t.buffer.destroy();
    this.k.length = 0;
    this.v.length = 0;
  }
}
