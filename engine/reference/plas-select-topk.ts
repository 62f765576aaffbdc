/**
 * TypeScript twin of shaders/plas_select_topk.wgsl: the approximate top-k by binary search on a threshold, with the
 * same f32 arithmetic as the kernel, so on the same scores it selects exactly the same blocks.
 *
 * For a row of candidate scores s[0 ..< nb]: when nb <= right every block is kept. Otherwise lo = min s, hi = max s;
 * repeat `iterations` times (until stopped): mid = (lo + hi) / 2, c = #(s >= mid); c < left -> hi = mid;
 * c > right -> lo = mid; else stop. Keep s >= mid (the last mid). Always keep block 0 (attention sink), the query's own
 * block nb - 1 and the one before it. Under a sliding window the candidates are blocks fb ..< nb only, fb the block of
 * the first position the query sees: the search and the forced blocks never reach before it.
 */
import { SEQ_COLUMNS, SEQ_KV_LENGTH, SEQ_NUM_QUERIES, SEQ_QUERY_OFFSET } from '../kv/paged-layout.ts';

export interface TopkRange {
  left: number;
  right: number;
  iterations: number;
}

export interface RowSelection {
  /** Blocks kept by the threshold (before the forced ones). */
  thresholdCount: number;
  /** Selected block ids, ascending (threshold and forced). */
  blocks: number[];
}

/** Select blocks for one row of scores (length nb, f32 values). */
export function selectRow(scores: ArrayLike<number>, nb: number, r: TopkRange, fb = 0): RowSelection {
  const f = Math.fround;
  const keep = new Uint8Array(nb);
  let thresholdCount = nb - fb;
  if (nb - fb > r.right) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let b = fb; b < nb; b++) {
      lo = Math.min(lo, scores[b]);
      hi = Math.max(hi, scores[b]);
    }
    let mid = lo;
    let c = nb;
    for (let it = 0; it < r.iterations; it++) {
      mid = f(f(lo + hi) * 0.5);
      c = 0;
      for (let b = fb; b < nb; b++) if (scores[b] >= mid) c++;
      if (c < r.left) hi = mid;
      else if (c > r.right) lo = mid;
      else break;
    }
    thresholdCount = c;
    for (let b = fb; b < nb; b++) keep[b] = scores[b] >= mid ? 1 : 0;
  } else keep.fill(1, fb);
  if (fb === 0) keep[0] = 1;
  keep[nb - 1] = 1;
  if (nb - 2 >= fb) keep[nb - 2] = 1;
  const blocks: number[] = [];
  for (let b = 0; b < nb; b++) if (keep[b]) blocks.push(b);
  return { thresholdCount, blocks };
}

export interface SelectShape extends TopkRange {
  heads: number;
  blockSize: number;
  maxBlocks: number;
  /** u32 words per selection row: ceil(maxBlocks / 32). */
  words: number;
  totalTokens: number;
  rowBase: number;
  /** Sliding window in positions; 0 or absent: none. */
  window?: number;
}

/**
 * The kernel's output: selection u32 [totalTokens, heads, words], bit b of a row set when block b is kept; rows of
 * queries outside the items stay 0 here (the kernel leaves them untouched). scores: [scoreRows, heads, maxBlocks].
 */
export function plasSelectTopk(
  scores: Float32Array,
  seqs: Uint32Array,
  items: Uint32Array,
  s: SelectShape,
): Uint32Array {
  const selection = new Uint32Array(s.totalTokens * s.heads * s.words);
  for (let i = 0; i < items.length / 4; i++) {
    const [seq, firstQuery, count] = items.subarray(i * 4, i * 4 + 3);
    const sq = seqs.subarray(seq * SEQ_COLUMNS, (seq + 1) * SEQ_COLUMNS);
    for (let t = firstQuery; t < firstQuery + count; t++) {
      const pos = sq[SEQ_KV_LENGTH] - sq[SEQ_NUM_QUERIES] + t;
      const nb = Math.floor(pos / s.blockSize) + 1;
      const fb = s.window && pos + 1 > s.window ? Math.min(Math.floor((pos + 1 - s.window) / s.blockSize), nb - 1) : 0;
      const row = sq[SEQ_QUERY_OFFSET] + t;
      for (let h = 0; h < s.heads; h++) {
        const base = ((row - s.rowBase) * s.heads + h) * s.maxBlocks;
        const { blocks } = selectRow(scores.subarray(base, base + nb), nb, s, fb);
        const out = (row * s.heads + h) * s.words;
        for (const b of blocks) selection[out + (b >> 5)] |= 1 << (b & 31);
      }
    }
  }
  return selection;
}

/** Exact top-k block ids of a row (ties broken by lower index), for the recall statistic. */
export function exactTopk(scores: ArrayLike<number>, nb: number, k: number): number[] {
  const ids = Array.from({ length: nb }, (_, b) => b);
  ids.sort((a, b) => scores[b] - scores[a] || a - b);
  return ids.slice(0, Math.min(k, nb));
}
