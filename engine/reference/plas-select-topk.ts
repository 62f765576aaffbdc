/**
 * TypeScript twin of shaders/plas_select_topk.wgsl: the approximate top-k by binary search on a threshold, with the
 * same f32 arithmetic as the kernel, so on the same scores it selects exactly the same blocks.
 *
 * Forced blocks are always kept: block 0 (attention sink), the query's own block nb - 1 and the one before it. Under
 * a sliding window the candidates are blocks fb ..< nb only, fb the block of the first position the query sees: the
 * search and the forced blocks never reach before it. Two search rules:
 *
 * - 'original' (the published one): when nb - fb <= right every candidate is kept. Otherwise lo = min s, hi = max s
 *   over the candidates; repeat `iterations` times (until stopped): mid = (lo + hi) / 2, c = #(s >= mid);
 *   c < left -> hi = mid; c > right -> lo = mid; else stop. Keep s >= mid (the last mid).
 * - 'refined' (the default): the same search over the free candidates only (forced blocks out of the min, the max and
 *   the count, so a sink or a hot recent block neither stretches [lo, hi] nor fills the count), for up to
 *   2 x `iterations` steps, stopping as soon as c lands in [left, right]; when it ends below left, the threshold is
 *   lo (the last one that kept more than right), so a row never keeps fewer free blocks than left.
 */
import { SEQ_COLUMNS, SEQ_KV_LENGTH, SEQ_NUM_QUERIES, SEQ_QUERY_OFFSET } from '../kv/paged-layout.ts';
import type { TopkSearch } from '../plas/config.ts';

export interface TopkRange {
  left: number;
  right: number;
  iterations: number;
  /** Default 'refined'. */
  search?: TopkSearch;
}

export interface RowSelection {
  /**
   * What the search's count saw at its final threshold (before the forced ones are added): every candidate scoring
   * >= it ('original'), or the free candidates scoring >= it ('refined'). nb - fb (or the free count) when no search ran.
   */
  thresholdCount: number;
  /** Whether a search ran (more candidates in its pool than right). */
  searched: boolean;
  /** Selected block ids, ascending (threshold and forced). */
  blocks: number[];
}

/** Select blocks for one row of scores (length nb, f32 values). */
export function selectRow(scores: ArrayLike<number>, nb: number, r: TopkRange, fb = 0): RowSelection {
  const f = Math.fround;
  const refined = (r.search ?? 'refined') === 'refined';
  const isForced = (b: number) => b === 0 || b + 2 >= nb;
  // Blocks the search looks at: every candidate, or the free ones.
  const counted = (b: number) => !refined || !isForced(b);
  let pool = 0;
  for (let b = fb; b < nb; b++) if (counted(b)) pool++;
  const keep = new Uint8Array(nb);
  let thresholdCount = pool;
  const searched = pool > r.right;
  if (searched) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let b = fb; b < nb; b++) {
      if (!counted(b)) continue;
      lo = Math.min(lo, scores[b]);
      hi = Math.max(hi, scores[b]);
    }
    const count = (t: number) => {
      let c = 0;
      for (let b = fb; b < nb; b++) if (counted(b) && scores[b] >= t) c++;
      return c;
    };
    let mid = lo;
    let c = nb;
    const steps = refined ? 2 * r.iterations : r.iterations;
    for (let it = 0; it < steps; it++) {
      mid = f(f(lo + hi) * 0.5);
      c = count(mid);
      if (c < r.left) hi = mid;
      else if (c > r.right) lo = mid;
      else break;
    }
    if (refined && c < r.left) {
      mid = lo;
      c = count(mid);
    }
    thresholdCount = c;
    for (let b = fb; b < nb; b++) keep[b] = scores[b] >= mid ? 1 : 0;
  } else keep.fill(1, fb);
  if (fb === 0) keep[0] = 1;
  keep[nb - 1] = 1;
  if (nb - 2 >= fb) keep[nb - 2] = 1;
  const blocks: number[] = [];
  for (let b = 0; b < nb; b++) if (keep[b]) blocks.push(b);
  return { thresholdCount, searched, blocks };
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
