/**
 * Turns the readbacks of a sampled step (block counts, and for recall the scores and selections) into PlasStats
 * records once the step has run. Recall is measured on at most RECALL_ROWS rows (query, head) per score chunk, spread
 * over the chunk, and only on rows where the binary search ran (more candidates than right).
 */
import { decodeValues } from '../gpu/dtype.ts';
import type { PagedBatch } from '../gpu/kernels/paged-attention.ts';
import { exactTopk } from '../reference/plas-select-topk.ts';
import { candidateBlocks, type PlasPlan, type ScoreGroup, UNIT_COLUMNS } from './plan.ts';
import type { PlasStats } from './stats.ts';

const RECALL_ROWS = 256;

export interface ScoreChunkRead {
  group: ScoreGroup;
  rowBase: number;
  rows: number;
  /** f32 [rows, heads, maxBlocks] */
  scores: Promise<Uint8Array>;
}

export interface SampleReads {
  layer: number;
  batch: PagedBatch & { requestIds?: readonly string[] };
  plan: PlasPlan;
  heads: number;
  kvHeads: number;
  /** u32 [U, kvHeads] */
  counts: Promise<Uint8Array>;
  /** u32 [T, heads, words], when recall is measured */
  selection: Promise<Uint8Array> | null;
  chunks: ScoreChunkRead[];
}

function u32(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.slice().buffer);
}

async function record(stats: PlasStats, r: SampleReads): Promise<void> {
  const { plan, kvHeads, heads } = r;
  const requestOf = (seq: number) => r.batch.requestIds?.[seq] ?? `seq ${seq}`;
  const counts = u32(await r.counts);
  const decodeUnits = new Set(plan.decodeUnits);
  for (let unit = 0; unit < plan.units.length / UNIT_COLUMNS; unit++) {
    const request = requestOf(plan.units[unit * UNIT_COLUMNS]);
    for (let kvh = 0; kvh < kvHeads; kvh++) {
      const decode = decodeUnits.has(unit);
      stats.recordBlocks(r.layer, request, plan.unitBlocks[unit], counts[unit * kvHeads + kvh], decode);
    }
  }
  if (!r.selection) return;
  const selection = u32(await r.selection);
  for (const ch of r.chunks) {
    const scores = decodeValues(await ch.scores, 'f32');
    const rows: [seq: number, row: number, pos: number][] = [];
    const g = ch.group;
    for (let i = 0; i < g.items.length; i += 4) {
      const s = r.batch.host[g.items[i]];
      for (let t = g.items[i + 1]; t < g.items[i + 1] + g.items[i + 2]; t++) {
        const row = s.queryOffset + t;
        if (row >= ch.rowBase && row < ch.rowBase + ch.rows)
          rows.push([g.items[i], row, s.kvLength - s.numQueries + t]);
      }
    }
    const total = rows.length * heads;
    const stride = Math.max(1, Math.floor(total / RECALL_ROWS));
    for (let i = 0; i < total; i += stride) {
      const [seq, row, pos] = rows[Math.floor(i / heads)];
      const h = i % heads;
      const nb = candidateBlocks(pos, plan.blockSize);
      if (nb <= g.right) continue;
      const base = ((row - ch.rowBase) * heads + h) * plan.maxBlocks;
      const k = Math.min(g.left, nb);
      const sel = (row * heads + h) * plan.words;
      let hits = 0;
      for (const b of exactTopk(scores.subarray(base, base + nb), nb, k)) {
        if ((selection[sel + (b >> 5)] >>> (b & 31)) & 1) hits++;
      }
      stats.recordRecall(r.layer, requestOf(seq), hits, k);
    }
  }
}

/** Record when the step's reads resolve; a failed step (its reads reject) leaves the statistics as they were. */
export function recordSample(stats: PlasStats, r: SampleReads): void {
  for (const p of [r.counts, r.selection, ...r.chunks.map((c) => c.scores)]) p?.catch(() => {});
  stats.track(record(stats, r).catch(() => {}));
}
