/**
 * TypeScript twins of the paged KV kernels (layout: engine/kv/paged-layout.ts):
 * - writePagedKv (shaders/paged_kv_write.wgsl): scatter new tokens' K/V rows into pool slots; for an f16 pool
 *   saturated to +-65504 and rounded to f16 (to nearest even), storeKv(): the twin's pools are Float32Arrays holding
 *   the values the GPU pool holds;
 * - pagedAttention (shaders/paged_attention_{decode,merge,prefill}.wgsl): per sequence, gather its keys and values
 *   through its block table, then plain causal softmax(Q K^T * scale) V with grouped-query heads, in f64; with a
 *   sliding window W, the token at position t sees keys t - W < j <= t only.
 * Pools: [numPages, pageSize, kvHeads, D]; q, out: [T, heads, D]; k, v (new rows): [T, kvHeads, D].
 */
import { roundToDType } from '../gpu/dtype.ts';
import type { BatchSequence, KvDType } from '../kv/paged-layout.ts';

export interface PagedShape {
  heads: number;
  kvHeads: number;
  D: number;
  pageSize: number;
  /** Default 1/sqrt(D). */
  scale?: number;
  /** Sliding window in positions; 0 or absent: none. */
  window?: number;
}

const F16_MAX = 65504;

/** What a pool of `dtype` holds after storing `values`: f16 saturates to the largest finite half, then rounds. */
export function storeKv(values: Float32Array, dtype: KvDType): Float32Array {
  if (dtype === 'f32') return values;
  return roundToDType(
    values.map((x) => Math.min(F16_MAX, Math.max(-F16_MAX, x))),
    'f16',
  );
}

/** First position a token at `position` sees: position + 1 - window under a sliding window, else 0. */
export function firstVisible(position: number, window: number | undefined): number {
  return window ? Math.max(0, position + 1 - window) : 0;
}

/** Write row t of k and v (kvHeads * D values) to slot slots[t] of the pools, in place. */
export function writePagedKv(
  kPool: Float32Array,
  vPool: Float32Array,
  k: Float32Array,
  v: Float32Array,
  slots: ArrayLike<number>,
  rowSize: number,
  dtype: KvDType = 'f32',
): void {
  for (let t = 0; t < slots.length; t++) {
    kPool.set(storeKv(k.slice(t * rowSize, (t + 1) * rowSize), dtype), slots[t] * rowSize);
    vPool.set(storeKv(v.slice(t * rowSize, (t + 1) * rowSize), dtype), slots[t] * rowSize);
  }
}

/** Keys (or values) 0..kvLength-1 of one sequence, gathered from a pool through its block table: [kvLength, kvHeads, D]. */
export function gatherSequence(pool: Float32Array, s: BatchSequence, pageSize: number, rowSize: number): Float32Array {
  const out = new Float32Array(s.kvLength * rowSize);
  for (let pos = 0; pos < s.kvLength; pos++) {
    const page = s.blockTable[Math.floor(pos / pageSize)];
    if (page === undefined) throw new Error(`block table too short for position ${pos} (page size ${pageSize})`);
    const row = page * pageSize + (pos % pageSize);
    out.set(pool.subarray(row * rowSize, (row + 1) * rowSize), pos * rowSize);
  }
  return out;
}

/** Attention of every new token of the batch; rows of `out` that belong to no sequence stay 0. */
export function pagedAttention(
  q: Float32Array,
  kPool: Float32Array,
  vPool: Float32Array,
  seqs: readonly BatchSequence[],
  shape: PagedShape,
): Float32Array {
  const { heads, kvHeads, D, pageSize } = shape;
  const scale = shape.scale ?? 1 / Math.sqrt(D);
  const group = heads / kvHeads;
  const rowSize = kvHeads * D;
  const out = new Float32Array(q.length); // [T, heads, D]
  const acc = new Float64Array(D);
  for (const s of seqs) {
    const k = gatherSequence(kPool, s, pageSize, rowSize); // [kvLength, kvHeads, D]
    const v = gatherSequence(vPool, s, pageSize, rowSize);
    const scores = new Float64Array(s.kvLength);
    for (let i = 0; i < s.numQueries; i++) {
      const visible = s.kvLength - s.numQueries + i + 1; // causal: keys 0 ..= its position
      const first = firstVisible(visible - 1, shape.window); // and, with a window, the last `window` of them
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / group);
        const qBase = ((s.queryOffset + i) * heads + h) * D;
        let max = Number.NEGATIVE_INFINITY;
        for (let j = first; j < visible; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qBase + d] * k[j * rowSize + kvh * D + d];
          scores[j] = dot * scale;
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        acc.fill(0);
        for (let j = first; j < visible; j++) {
          const p = Math.exp(scores[j] - max);
          sum += p;
          for (let d = 0; d < D; d++) acc[d] += p * v[j * rowSize + kvh * D + d];
        }
        for (let d = 0; d < D; d++) out[qBase + d] = acc[d] / sum;
      }
    }
  }
  return out;
}
