/**
 * The forward pass on the CPU from the kernels' TypeScript twins: the oracle the GPU forward is tested against.
 * Same structure as gpu-forward.ts, one sequence, a contiguous KV cache of Float32Arrays; slow, and simple on purpose.
 */
import type { KvDType } from '../kv/paged-layout.ts';
import { attention } from '../reference/attention.ts';
import { embedding } from '../reference/embedding.ts';
import { matmul } from '../reference/matmul.ts';
import { pagedAttention, storeKv } from '../reference/paged-attention.ts';
import { rmsnorm } from '../reference/rmsnorm.ts';
import { rope } from '../reference/rope.ts';
import { swiglu } from '../reference/swiglu.ts';
import type { ModelDims } from './dims.ts';
import type { LayerTensors, ModelTensors } from './model-tensors.ts';

export interface CpuKvOptions {
  /** What the cache stores: f16 rounds K and V on store as the engine's f16 pool does (default f32). */
  dtype?: KvDType;
  /** Sliding window: a token at position t attends keys t - window < j <= t only (default 0: none). */
  window?: number;
}

export class CpuKvCache {
  readonly k: Float32Array[] = [];
  readonly v: Float32Array[] = [];
  length = 0;
  constructor(
    readonly dims: ModelDims,
    readonly capacity: number,
    readonly options: CpuKvOptions = {},
  ) {
    for (let l = 0; l < dims.numLayers; l++) {
      this.k.push(new Float32Array(capacity * dims.kvHeads * dims.headDim)); // [S, kvHeads, D]
      this.v.push(new Float32Array(capacity * dims.kvHeads * dims.headDim));
    }
  }
}

function attentionBlock(
  d: ModelDims,
  w: LayerTensors<Float32Array>,
  kv: CpuKvCache,
  layer: number,
  normed: Float32Array, // [T, H]
  positions: number[],
  start: number,
): Float32Array {
  const T = positions.length;
  const qDim = d.heads * d.headDim;
  const kvDim = d.kvHeads * d.headDim;
  let q = matmul(normed, w.q, w.qBias, T, qDim, d.hidden); // [T, heads*D]
  let k = matmul(normed, w.k, w.kBias, T, kvDim, d.hidden); // [T, kvHeads*D]
  const v = matmul(normed, w.v, w.vBias, T, kvDim, d.hidden);
  if (w.qNorm && w.kNorm) {
    q = rmsnorm(q, w.qNorm, T * d.heads, d.headDim, d.rmsNormEps).out;
    k = rmsnorm(k, w.kNorm, T * d.kvHeads, d.headDim, d.rmsNormEps).out;
  }
  q = rope(q, positions, d.heads, d.rope); // [T, heads, D]
  k = rope(k, positions, d.kvHeads, d.rope);
  const dtype = kv.options.dtype ?? 'f32';
  kv.k[layer].set(storeKv(k, dtype), start * kvDim);
  kv.v[layer].set(storeKv(v, dtype), start * kvDim);
  if (kv.options.window) {
    // The paged twin over one page holding the whole cache: it knows the window.
    const seq = { queryOffset: 0, numQueries: T, kvLength: start + T, blockTable: [0] };
    const shape = {
      heads: d.heads,
      kvHeads: d.kvHeads,
      D: d.headDim,
      pageSize: kv.capacity,
      window: kv.options.window,
    };
    const windowed = pagedAttention(q, kv.k[layer], kv.v[layer], [seq], shape);
    return matmul(windowed, w.o, undefined, T, d.hidden, qDim);
  }
  const attn = attention(q, kv.k[layer], kv.v[layer], {
    T,
    heads: d.heads,
    kvHeads: d.kvHeads,
    D: d.headDim,
    queryStart: start,
    kvLength: start + T,
  });
  return matmul(attn, w.o, undefined, T, d.hidden, qDim);
}

function mlpBlock(d: ModelDims, w: LayerTensors<Float32Array>, normed: Float32Array, T: number): Float32Array {
  const gate = matmul(normed, w.gate, undefined, T, d.intermediate, d.hidden);
  const up = matmul(normed, w.up, undefined, T, d.intermediate, d.hidden);
  return matmul(swiglu(gate, up, T, d.intermediate), w.down, undefined, T, d.hidden, d.intermediate);
}

/** Logits of the last of `ids` (at positions start..), f32 [V]; appends their K/V to the cache. */
export function cpuForward(
  d: ModelDims,
  w: ModelTensors<Float32Array>,
  kv: CpuKvCache,
  ids: number[],
  start: number,
): Float32Array {
  const T = ids.length;
  const H = d.hidden;
  const positions = ids.map((_, i) => start + i);
  let residual = embedding(ids, w.embed, d.vocab, H); // [T, H]
  let pending: Float32Array | null = null;
  const addAndNorm = (weight: Float32Array): Float32Array => {
    if (!pending) return rmsnorm(residual, weight, T, H, d.rmsNormEps).out;
    const r = rmsnorm(pending, weight, T, H, d.rmsNormEps, { residual });
    residual = r.residualOut!;
    return r.out;
  };
  w.layers.forEach((layer, l) => {
    pending = attentionBlock(d, layer, kv, l, addAndNorm(layer.inputNorm), positions, start);
    pending = mlpBlock(d, layer, addAndNorm(layer.postAttentionNorm), T);
  });
  const normed = addAndNorm(w.norm);
  kv.length = start + T;
  return matmul(normed.subarray((T - 1) * H, T * H), w.lmHead, undefined, 1, d.vocab, H);
}
