/**
 * TypeScript twin of shaders/plas_block_scores.wgsl, in f64: for every query of the items and every head,
 * s[b] = q . Kc[kvHead, b] over the causal candidate blocks b = 0 ..= floor(position / blockSize), where Kc is the sum
 * of the block's page key sums, divided by the tokens present in the block (mean pooling) or not (learned gate); or,
 * with summary 'bound', s[b] = sum_d max(q_d * M_d, q_d * m_d), the key bound (Quest's), where M and m are the max and
 * min over the block's pages of keySums = key bounds [numPages, kvHeads, 2, D] (per page: max, then min); with
 * 'bound-gate', s[b] = sum_d (G0 q+ + G1 q-)_d M_d + (G2 q+ + G3 q-)_d m_d, G = boundGate [kvHeads, 4, D] and
 * q+ = max(q, 0), q- = min(q, 0) (the learned gate in key-bound form; G = (1, 0, 0, 1) is 'bound').
 * Entries b >= candidates of a row hold NEG_BIG. q: [totalTokens, heads, D]; keySums: [numPages, kvHeads, D];
 * seqs: u32 [B, 4] and blockTables as paged-layout.ts packs them; items: u32 [I, 4] = (seq, firstQuery, count, 0).
 * Returns scores [scoreRows, heads, maxBlocks]; query row r lands in score row r - rowBase.
 */
import { SEQ_COLUMNS, SEQ_KV_LENGTH, SEQ_NUM_QUERIES, SEQ_QUERY_OFFSET, SEQ_TABLE_OFFSET } from '../kv/paged-layout.ts';

export const NEG_BIG = -3.0e38;

export interface BlockScoreShape {
  heads: number;
  kvHeads: number;
  D: number;
  pageSize: number;
  blockSize: number;
  maxBlocks: number;
  scoreRows: number;
  rowBase: number;
  /**
   * 'mean': divide the sums by the tokens present; 'gate': learned-gate sums as they are; 'bound': key bounds;
   * 'bound-gate': key bounds weighted by `boundGate`.
   */
  summary: 'mean' | 'gate' | 'bound' | 'bound-gate';
  /** f32 [kvHeads, 4, D], with 'bound-gate'. */
  boundGate?: Float32Array;
}

export function plasBlockScores(
  q: Float32Array,
  keySums: Float32Array,
  seqs: Uint32Array,
  blockTables: Uint32Array,
  items: Uint32Array,
  s: BlockScoreShape,
): Float32Array {
  const { heads, kvHeads, D, pageSize, blockSize, maxBlocks } = s;
  if ((s.summary === 'bound-gate') !== (s.boundGate !== undefined)) {
    throw new RangeError(`plasBlockScores: boundGate goes with summary 'bound-gate' only (summary '${s.summary}')`);
  }
  const group = heads / kvHeads;
  const ratio = blockSize / pageSize;
  const scores = new Float32Array(s.scoreRows * heads * maxBlocks).fill(Number.NaN);
  const kc = new Float64Array(D);
  for (let i = 0; i < items.length / 4; i++) {
    const [seq, firstQuery, count] = items.subarray(i * 4, i * 4 + 3);
    const sq = seqs.subarray(seq * SEQ_COLUMNS, (seq + 1) * SEQ_COLUMNS);
    const kvLength = sq[SEQ_KV_LENGTH];
    const pages = Math.ceil(kvLength / pageSize);
    const blockPages = (b: number) => {
      const ids: number[] = [];
      for (let j = b * ratio; j < Math.min(pages, (b + 1) * ratio); j++)
        ids.push(blockTables[sq[SEQ_TABLE_OFFSET] + j]);
      return ids;
    };
    for (let t = firstQuery; t < firstQuery + count; t++) {
      const pos = kvLength - sq[SEQ_NUM_QUERIES] + t;
      const nb = Math.floor(pos / blockSize) + 1;
      const row = sq[SEQ_QUERY_OFFSET] + t;
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / group);
        const out = ((row - s.rowBase) * heads + h) * maxBlocks;
        scores.fill(NEG_BIG, out, out + maxBlocks);
        for (let b = 0; b < nb; b++) {
          if (s.summary === 'bound' || s.summary === 'bound-gate') {
            scores[out + b] = boundScore(q, (row * heads + h) * D, keySums, blockPages(b), kvh, s);
            continue;
          }
          kc.fill(0);
          for (const page of blockPages(b)) {
            for (let d = 0; d < D; d++) kc[d] += keySums[(page * kvHeads + kvh) * D + d];
          }
          const present = s.summary === 'mean' ? Math.min(blockSize, kvLength - b * blockSize) : 1;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(row * heads + h) * D + d] * (kc[d] / present);
          scores[out + b] = dot;
        }
      }
    }
  }
  return scores;
}

/**
 * sum_d max(q_d * M_d, q_d * m_d) with M, m the max and min of the pages' key bounds, in f64; with a bound gate,
 * sum_d (G0 q+ + G1 q-)_d M_d + (G2 q+ + G3 q-)_d m_d.
 */
function boundScore(
  q: Float32Array,
  qAt: number,
  bounds: Float32Array,
  pages: readonly number[],
  kvh: number,
  s: BlockScoreShape,
): number {
  const { D, kvHeads } = s;
  let score = 0;
  for (let d = 0; d < D; d++) {
    let hi = Number.NEGATIVE_INFINITY;
    let lo = Number.POSITIVE_INFINITY;
    for (const page of pages) {
      const at = (page * kvHeads + kvh) * 2 * D;
      hi = Math.max(hi, bounds[at + d]);
      lo = Math.min(lo, bounds[at + D + d]);
    }
    const x = q[qAt + d];
    if (s.summary !== 'bound-gate') {
      score += Math.max(x * hi, x * lo);
      continue;
    }
    const G = s.boundGate as Float32Array;
    const g = (row: number) => G[(kvh * 4 + row) * D + d];
    const pos = Math.max(x, 0);
    const neg = Math.min(x, 0);
    score += (g(0) * pos + g(1) * neg) * hi + (g(2) * pos + g(3) * neg) * lo;
  }
  return score;
}
