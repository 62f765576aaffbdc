/**
 * Turns the readbacks of a sampled step (block counts, and for recall the scores and selections) into PlasStats
 * records once the step has run. Recall (when asked for) is measured on about RECALL_ROWS rows (query, head) per score
 * chunk, spread over the chunk, and only on rows where the binary search ran (more candidates than right): those rows'
 * scores and selections are gathered on the GPU into small buffers, so a 128K-token chunk reads back kilobytes, not
 * its whole score buffer.
 *
 * Under a sliding window (batch.window) a row's candidates are the blocks intersecting its window (plan.ts
 * firstCandidateBlock, the kernel's fb .. nb - 1): recall's exact top-k and the "did a search run" test look at those
 * only, and a unit's candidates are plan.unitBlocks.
 */
import { decodeValues } from '../gpu/dtype.ts';
import type { PagedBatch } from '../gpu/kernels/paged-attention.ts';
import { exactTopk } from '../reference/plas-select-topk.ts';
import type { TopkSearch } from './config.ts';
import { firstCandidateBlock, type PlasPlan, type ScoreGroup, UNIT_COLUMNS } from './plan.ts';
import type { PlasStats } from './stats.ts';

/** Recall is measured on about this many (query, head) rows per score chunk, spread over the chunk. */
export const RECALL_ROWS = 256;

/** The query rows of one score chunk that recall is measured on, and their scores and selections, gathered. */
export interface ScoreChunkRead {
  group: ScoreGroup;
  /** (seq, position) of each gathered query row, in gather order. */
  rows: [seq: number, pos: number][];
  /** f32 [rows.length, heads, maxBlocks] */
  scores: Promise<Uint8Array>;
  /** u32 [rows.length, heads, words] */
  selection: Promise<Uint8Array>;
}

export interface SampleReads {
  layer: number;
  batch: PagedBatch & { requestIds?: readonly string[] };
  plan: PlasPlan;
  heads: number;
  kvHeads: number;
  /** The step's search rule (config.topkSearch; default 'refined'): which rows ran a search. */
  search?: TopkSearch;
  /** u32 [U, kvHeads] */
  counts: Promise<Uint8Array>;
  chunks: ScoreChunkRead[];
}

/**
 * The query rows of a score chunk to measure recall on: at most ceil(RECALL_ROWS / heads), evenly spread, among the
 * chunk's rows [rowBase, rowBase + rows). Returns (batch row, seq, position) for each.
 */
export function recallRows(
  host: PagedBatch['host'],
  g: ScoreGroup,
  rowBase: number,
  rows: number,
  heads: number,
): [row: number, seq: number, pos: number][] {
  const all: [number, number, number][] = [];
  for (let i = 0; i < g.items.length; i += 4) {
    const s = host[g.items[i]];
    for (let t = g.items[i + 1]; t < g.items[i + 1] + g.items[i + 2]; t++) {
      const row = s.queryOffset + t;
      if (row >= rowBase && row < rowBase + rows) all.push([row, g.items[i], s.kvLength - s.numQueries + t]);
    }
  }
  const want = Math.ceil(RECALL_ROWS / heads);
  const stride = Math.max(1, all.length / want);
  const out: [number, number, number][] = [];
  for (let i = 0; i < all.length && out.length < want; i = Math.floor(out.length * stride)) out.push(all[i]);
  return out;
}

function u32(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.slice().buffer);
}

async function record(stats: PlasStats, r: SampleReads): Promise<void> {
  const { plan, kvHeads, heads } = r;
  const requestOf = (seq: number) => r.batch.requestIds?.[seq] ?? `seq ${seq}`;
  const counts = u32(await r.counts);
  const decodeUnits = new Set(plan.decodeUnits);
  const window = r.batch.window ?? 0;
  for (let unit = 0; unit < plan.units.length / UNIT_COLUMNS; unit++) {
    const request = requestOf(plan.units[unit * UNIT_COLUMNS]);
    const dense = plan.units[unit * UNIT_COLUMNS + 3] !== 0;
    const candidates = plan.unitBlocks[unit];
    for (let kvh = 0; kvh < kvHeads; kvh++) {
      const decode = decodeUnits.has(unit);
      // A dense unit attends every candidate. Its list also holds the blocks before the window (plas_union lists
      // 0 .. own), which the attention kernels skip: counting those would give a density above 1.
      const selected = dense ? candidates : counts[unit * kvHeads + kvh];
      stats.recordBlocks(r.layer, request, candidates, selected, decode);
    }
  }
  const refined = (r.search ?? 'refined') === 'refined';
  for (const ch of r.chunks) {
    const scores = decodeValues(await ch.scores, 'f32');
    const selection = u32(await ch.selection);
    const g = ch.group;
    ch.rows.forEach(([seq, pos], i) => {
      // The kernel's rule: candidates fb ..< nb; its search pool is all of them, or (refined) those less the forced
      // ones (the last two, and block 0 when it is a candidate and not one of those).
      const nb = Math.floor(pos / plan.blockSize) + 1;
      const fb = firstCandidateBlock(pos, plan.blockSize, window);
      const candidates = nb - fb;
      const forced = Math.min(2, candidates) + (fb === 0 && nb > 2 ? 1 : 0);
      if (candidates - (refined ? forced : 0) <= g.right) return; // no search ran: the row kept every candidate
      const k = Math.min(g.left, candidates);
      for (let h = 0; h < heads; h++) {
        const base = (i * heads + h) * plan.maxBlocks;
        const sel = (i * heads + h) * plan.words;
        let hits = 0;
        for (const c of exactTopk(scores.subarray(base + fb, base + nb), candidates, k)) {
          const b = fb + c;
          if ((selection[sel + (b >> 5)] >>> (b & 31)) & 1) hits++;
        }
        stats.recordRecall(r.layer, requestOf(seq), hits, k);
      }
    });
  }
}

/** Record when the step's reads resolve; a failed step (its reads reject) leaves the statistics as they were. */
export function recordSample(stats: PlasStats, r: SampleReads): void {
  for (const p of [r.counts, ...r.chunks.flatMap((c) => [c.scores, c.selection])]) p.catch(() => {});
  stats.track(record(stats, r).catch(() => {}));
}
