/**
 * TypeScript twin of shaders/plas_attention_{prefill,decode}.wgsl (+ paged_attention_merge.wgsl): block-sparse causal
 * attention over the paged cache, in f64. Each unit (seq, firstQuery, count, dense) attends, per kv head, to the keys of
 * its listed blocks that each query may see (position <= the query's, and > position - window under a sliding window:
 * a block straddling the window is masked per position, one wholly before it contributes nothing). lists[unit * kvHeads + kvh]: ascending block
 * ids. q, out: [T, heads, D]; pools: [numPages, pageSize, kvHeads, D]. Rows of no unit stay 0.
 */
import type { BatchSequence } from '../kv/paged-layout.ts';
import { firstVisible, gatherSequence } from './paged-attention.ts';

export interface SparseShape {
  heads: number;
  kvHeads: number;
  D: number;
  pageSize: number;
  blockSize: number;
  /** Default 1/sqrt(D). */
  scale?: number;
  /** Sliding window in positions; 0 or absent: none. */
  window?: number;
}

export function plasSparseAttention(
  q: Float32Array,
  kPool: Float32Array,
  vPool: Float32Array,
  seqs: readonly BatchSequence[],
  units: Uint32Array,
  lists: readonly (readonly number[])[],
  s: SparseShape,
): Float32Array {
  const { heads, kvHeads, D, blockSize } = s;
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const group = heads / kvHeads;
  const rowSize = kvHeads * D;
  const out = new Float32Array(q.length);
  const acc = new Float64Array(D);
  for (let u = 0; u < units.length / 4; u++) {
    const [seqIndex, firstQuery, count] = units.subarray(u * 4, u * 4 + 3);
    const seq = seqs[seqIndex];
    const k = gatherSequence(kPool, seq, s.pageSize, rowSize); // [kvLength, kvHeads, D]
    const v = gatherSequence(vPool, seq, s.pageSize, rowSize);
    for (let t = firstQuery; t < firstQuery + count; t++) {
      const pos = seq.kvLength - seq.numQueries + t;
      const first = firstVisible(pos, s.window);
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / group);
        const keys: number[] = [];
        for (const b of lists[u * kvHeads + kvh]) {
          for (let j = Math.max(b * blockSize, first); j < Math.min((b + 1) * blockSize, pos + 1); j++) keys.push(j);
        }
        const qBase = ((seq.queryOffset + t) * heads + h) * D;
        const logits = keys.map((j) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qBase + d] * k[j * rowSize + kvh * D + d];
          return dot * scale;
        });
        let max = Number.NEGATIVE_INFINITY;
        for (const x of logits) max = Math.max(max, x);
        let sum = 0;
        acc.fill(0);
        keys.forEach((j, i) => {
          const p = Math.exp(logits[i] - max);
          sum += p;
          for (let d = 0; d < D; d++) acc[d] += p * v[j * rowSize + kvh * D + d];
        });
        for (let d = 0; d < D; d++) out[qBase + d] = acc[d] / sum;
      }
    }
  }
  return out;
}
