/**
 * PLAS attention for one layer of a step: the one call the forward pass makes, after the layer's K/V write.
 *
 *   1. plas_key_sums      bring the layer's per-page key sums and key bounds up to date with this step's keys (always,
 *                         so a sequence that is dense today has its block summaries ready when it crosses the limit);
 *   2. plas_block_scores  gate (or key-bound) scores of every causal candidate block, per sparse query and head (in
 *      plas_select_topk   row chunks that keep the score buffer small), then the approximate top-k selection of each
 *                         row;
 *   3. plas_union         per unit (prefill tile or decode token) and kv head, the sorted list of blocks to visit;
 *                         dense units (below the limits, or the whole last layer) list every block;
 *   4. plas_attention_*   block-sparse attention over those lists (prefill tiles; split-K decode with its merge).
 *
 * Work lists are built and uploaded once per (step, batch, config) and shared by every layer of the step.
 */
import { expect, expectTensor } from '../gpu/check.ts';
import type { PagedBatch } from '../gpu/kernels/paged-attention.ts';
import {
  planPlasDecode,
  planPlasPrefill,
  plasAttentionDecode,
  plasAttentionPrefill,
} from '../gpu/kernels/plas-attention.ts';
import { type PlasBlockScoresArgs, plasBlockScores } from '../gpu/kernels/plas-block-scores.ts';
import { plasKeyBounds, plasKeySums } from '../gpu/kernels/plas-key-sums.ts';
import { plasSelectTopk } from '../gpu/kernels/plas-select-topk.ts';
import { plasUnion } from '../gpu/kernels/plas-union.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { PagedKvLayer } from '../kv/paged-layout.ts';
import type { BlockScore, PlasConfig } from './config.ts';
import { buildPlasPlan, decodeSplits, type PlasPlan, type ScoreGroup } from './plan.ts';
import { recallRows, recordSample, type ScoreChunkRead } from './sample-stats.ts';
import type { PlasStats } from './stats.ts';

/** The paged batch of the step, with request ids for the per-request statistics (else the sequence index). */
export interface PlasBatch extends PagedBatch {
  requestIds?: readonly string[];
  /** Per sequence: its request's own PLAS config, or null to run it dense (plan.ts seqConfigs). */
  seqConfigs?: readonly (PlasConfig | null)[];
}

export interface PlasAttentionArgs {
  /** f32 [T, heads, D]: the step's queries (post-RoPE). */
  q: Tensor;
  /** The layer's pools with keySums (f32 [numPages, kvHeads, D]) and keyBounds, holding this step's K/V. */
  layer: PagedKvLayer;
  batch: PlasBatch;
  /** f32 [T, heads, D] */
  out: Tensor;
  config: PlasConfig;
  isLastLayer: boolean;
  /** Index of the layer, for statistics (default 0). */
  layerIndex?: number;
  /** f32 [kvHeads, blockSize, D]: the layer's learned gate (gate-weights.ts); absent -> mean pooling. */
  gate?: Tensor;
  /** f32 [kvHeads, 4, D]: the layer's gate in key-bound form, for the block score 'bound-gate'; absent -> 'bound'. */
  boundGate?: Tensor;
  scale?: number;
  stats?: PlasStats;
  /** Prefill union tile in tokens (default: one prefill attention tile; the original unions 128). */
  unionTokens?: number;
  /** Force the decode split size in KV tiles (tests, benchmarks). */
  tilesPerSplit?: number;
  /** Tests and tools: receives readbacks of this layer's intermediate buffers (resolved after the step's submit). */
  debug?: (reads: PlasDebugReads) => void;
}

export interface PlasDebugReads {
  plan: PlasPlan;
  /** u32 [U, kvHeads] and u32 [U, kvHeads, maxBlocks] */
  counts: Promise<Uint8Array>;
  lists: Promise<Uint8Array>;
  /** u32 [T, heads, words]; null when every unit was dense */
  selection: Promise<Uint8Array> | null;
  /** Per score chunk: f32 [rows, heads, maxBlocks] for query rows rowBase ..< rowBase + rows */
  scores: { group: ScoreGroup; rowBase: number; rows: number; bytes: Promise<Uint8Array> }[];
}

/** Largest score buffer of one chunk: scores are temporary, and a 2K-token chunk at 128K context would need 1 GiB. */
const SCORE_CHUNK_BYTES = 32 << 20;

interface Uploaded {
  plan: PlasPlan;
  keySumItems: Tensor | null;
  units: Tensor;
  prefillItems: Tensor | null;
  decode: { items: Tensor; merges: Tensor } | null;
  scoreChunks: { group: ScoreGroup; items: Tensor; rowBase: number; rows: number; maxItemTokens: number }[];
  selection: Tensor;
  scores: Tensor | null;
  lists: Tensor;
  counts: Tensor;
}

const cache = new WeakMap<Step, WeakMap<PlasBatch, Map<string, Uploaded>>>();

function upload(step: Step, list: Uint32Array, label: string): Tensor {
  const t = step.scratch('u32', [list.length / 4, 4], label);
  step.gpu.writeBytes(t, new Uint8Array(list.buffer, list.byteOffset, list.byteLength));
  return t;
}

/** Split a side's score items into chunks whose query rows span at most maxRows rows. */
function chunkItems(host: PlasBatch['host'], g: ScoreGroup, maxRows: number) {
  const chunks: { items: number[]; rowBase: number; rowEnd: number; maxItemTokens: number }[] = [];
  for (let i = 0; i < g.items.length; i += 4) {
    const row = host[g.items[i]].queryOffset + g.items[i + 1];
    const end = row + g.items[i + 2];
    let c = chunks[chunks.length - 1];
    if (!c || end - c.rowBase > maxRows) {
      c = { items: [], rowBase: row, rowEnd: end, maxItemTokens: 0 };
      chunks.push(c);
    }
    c.items.push(...g.items.subarray(i, i + 4));
    c.rowEnd = end;
    c.maxItemTokens = Math.max(c.maxItemTokens, g.items[i + 2]);
  }
  return chunks;
}

/** A key for a batch's per-sequence configs: equal keys give equal plans. */
const seqKeys = new WeakMap<PlasBatch, string>();
function seqConfigsKey(batch: PlasBatch): string {
  let key = seqKeys.get(batch);
  if (key === undefined) {
    key = batch.seqConfigs ? JSON.stringify(batch.seqConfigs) : '';
    seqKeys.set(batch, key);
  }
  return key;
}

function prepare(step: Step, a: PlasAttentionArgs, lastLayer: boolean): Uploaded {
  const [T, heads, D] = a.q.shape;
  const [, pageSize, kvHeads] = a.layer.k.shape;
  const c = a.config;
  const key = [
    lastLayer,
    seqConfigsKey(a.batch),
    c.plas_block_size,
    c.plas_encoder_top_k_left,
    c.plas_encoder_top_k_right,
    c.plas_decoder_top_k_left,
    c.plas_decoder_top_k_right,
    c.plas_use_encoder_seq_limit,
    c.plas_use_decoder_seq_limit,
    c.encoderBlockScore,
    c.decoderBlockScore,
    a.batch.window ?? 0,
    `${heads}:${kvHeads}x${D}`,
    a.unionTokens,
    a.tilesPerSplit,
  ].join('|');
  const perBatch = cache.get(step) ?? new WeakMap<PlasBatch, Map<string, Uploaded>>();
  cache.set(step, perBatch);
  const perKey = perBatch.get(a.batch) ?? new Map<string, Uploaded>();
  perBatch.set(a.batch, perKey);
  const hit = perKey.get(key);
  if (hit) return hit;

  const limits = step.gpu.limits;
  const prefillPlan = planPlasPrefill(D, limits.maxComputeWorkgroupStorageSize);
  const plan = buildPlasPlan(a.batch.host, c, {
    pageSize,
    heads,
    kvHeads,
    unionTokens: a.unionTokens,
    lastLayer,
    window: a.batch.window ?? 0,
    seqConfigs: a.batch.seqConfigs,
    prefillRows: prefillPlan.rowsPerTile,
  });
  const U = plan.units.length / 4;
  const maxRows = Math.max(1, Math.floor(SCORE_CHUNK_BYTES / (heads * plan.maxBlocks * 4)));
  const scoreChunks = plan.scoreGroups.flatMap((g) =>
    chunkItems(a.batch.host, g, maxRows).map((ch) => ({
      group: g,
      items: upload(step, Uint32Array.from(ch.items), `plas score items (${g.side})`),
      rowBase: ch.rowBase,
      rows: ch.rowEnd - ch.rowBase,
      maxItemTokens: ch.maxItemTokens,
    })),
  );
  const scoreRows = Math.max(0, ...scoreChunks.map((ch) => ch.rows));
  let decode: Uploaded['decode'] = null;
  if (plan.decodeUnits.length > 0) {
    const dp = planPlasDecode(heads, kvHeads, D, limits.maxComputeWorkgroupStorageSize);
    const splits = decodeSplits(plan, {
      tile: dp.tile,
      kvHeads,
      headBlocks: dp.headBlocks,
      right: c.plas_decoder_top_k_right,
      tilesPerSplit: a.tilesPerSplit,
    });
    decode = {
      items: upload(step, splits.items, 'plas decode items'),
      merges: upload(step, splits.merges, 'plas decode merges'),
    };
  }
  const u: Uploaded = {
    plan,
    keySumItems: plan.keySumItems.length ? upload(step, plan.keySumItems, 'plas key sum items') : null,
    units: upload(step, plan.units, 'plas units'),
    prefillItems: plan.prefillItems.length ? upload(step, plan.prefillItems, 'plas prefill items') : null,
    decode,
    scoreChunks,
    selection: step.scratch('u32', [plan.allDense ? 1 : T, heads, plan.words], 'plas selection'),
    scores: scoreRows ? step.scratch('f32', [scoreRows, heads, plan.maxBlocks], 'plas scores') : null,
    lists: step.scratch('u32', [U, kvHeads, plan.maxBlocks], 'plas block lists'),
    counts: step.scratch('u32', [U, kvHeads], 'plas block counts'),
  };
  perKey.set(key, u);
  return u;
}

/**
 * Copy the scores and selections of the rows recall is measured on (right after the chunk's selection, before the
 * next chunk reuses the score buffer) into small buffers, and read those back.
 */
function gatherRecallRows(
  step: Step,
  a: PlasAttentionArgs,
  u: Uploaded,
  ch: Uploaded['scoreChunks'][number],
): ScoreChunkRead {
  const [, heads] = a.q.shape;
  const { maxBlocks, words } = u.plan;
  const rows = recallRows(a.batch.host, ch.group, ch.rowBase, ch.rows, heads);
  const n = Math.max(1, rows.length);
  const scores = step.scratch('f32', [n, heads, maxBlocks], 'plas recall scores');
  const selection = step.scratch('u32', [n, heads, words], 'plas recall selection');
  const scoreRow = heads * maxBlocks * 4;
  const selectionRow = heads * words * 4;
  rows.forEach(([row], i) => {
    const src = u.scores!;
    step.copy(
      { buffer: src.buffer, offset: src.offset + (row - ch.rowBase) * scoreRow, size: scoreRow },
      { buffer: scores.buffer, offset: i * scoreRow, size: scoreRow },
    );
    step.copy(
      { buffer: u.selection.buffer, offset: u.selection.offset + row * selectionRow, size: selectionRow },
      { buffer: selection.buffer, offset: i * selectionRow, size: selectionRow },
    );
  });
  return {
    group: ch.group,
    rows: rows.map(([, seq, pos]) => [seq, pos]),
    scores: step.read(scores, rows.length * scoreRow),
    selection: step.read(selection, rows.length * selectionRow),
  };
}

export function plasAttention(step: Step, a: PlasAttentionArgs): void {
  const kernel = 'plas_attention';
  expectTensor(kernel, 'q', a.q, 'f32', ['T', 'heads', 'D']);
  const [T, heads, D] = a.q.shape;
  expectTensor(kernel, 'layer.k', a.layer.k, ['f16', 'f32'], ['numPages', a.batch.pageSize, 'kvHeads', D]);
  const [numPages, , kvHeads] = a.layer.k.shape;
  expectTensor(kernel, 'layer.keySums', a.layer.keySums, 'f32', [numPages, kvHeads, D]);
  expectTensor(kernel, 'layer.keyBounds', a.layer.keyBounds, 'f32', [numPages, kvHeads, 2 * D]);
  const total = a.batch.host.reduce((n, s) => n + s.numQueries, 0);
  expect(kernel, total === T, () => `the sequences' numQueries sum to ${total}, but q has T = ${T} rows`);
  expect(
    kernel,
    a.config.plas_block_size % a.batch.pageSize === 0,
    () => `plas_block_size (${a.config.plas_block_size}) must be a multiple of the page size (${a.batch.pageSize})`,
  );
  if (T === 0) return;
  const u = prepare(step, a, a.isLastLayer);
  const { plan } = u;
  const blockSize = plan.blockSize;
  const keySums = a.layer.keySums!;
  const keyBounds = a.layer.keyBounds!;
  const { seqs, blockTables } = a.batch;

  if (u.keySumItems) {
    plasKeySums(step, { k: a.layer.k, keySums, items: u.keySumItems, blockSize, gate: a.gate });
    plasKeyBounds(step, { k: a.layer.k, keyBounds, items: u.keySumItems });
  }

  // Steps with prefill are always sampled (they are few, and a request's prefill density should not be a guess).
  const sampled = a.stats?.samples(step, u.plan.prefillItems.length > 0) === true;
  const chunkReads: ScoreChunkRead[] = [];
  const debugScores: PlasDebugReads['scores'] = [];
  for (const ch of u.scoreChunks) {
    const scores = u.scores!;
    const common = { seqs, items: ch.items, rowBase: ch.rowBase, maxItemTokens: ch.maxItemTokens };
    plasBlockScores(step, {
      ...common,
      q: a.q,
      ...blockSummary(ch.group.score, a, keySums, keyBounds),
      blockTables,
      scores,
      pageSize: a.batch.pageSize,
      blockSize,
    });
    const { left, right } = ch.group;
    plasSelectTopk(step, {
      ...common,
      scores,
      selection: u.selection,
      blockSize,
      left,
      right,
      iterations: a.config.iterations,
      search: a.config.topkSearch,
      window: a.batch.window ?? 0,
    });
    const bytes = ch.rows * heads * plan.maxBlocks * 4;
    if (sampled && a.stats?.recall) chunkReads.push(gatherRecallRows(step, a, u, ch));
    if (a.debug)
      debugScores.push({ group: ch.group, rowBase: ch.rowBase, rows: ch.rows, bytes: step.read(scores, bytes) });
  }

  plasUnion(step, { selection: u.selection, seqs, units: u.units, lists: u.lists, counts: u.counts, blockSize });

  const sparse = {
    q: a.q,
    layer: a.layer,
    seqs,
    blockTables,
    units: u.units,
    lists: u.lists,
    counts: u.counts,
    window: a.batch.window ?? 0,
  };
  if (u.prefillItems) {
    plasAttentionPrefill(step, { ...sparse, out: a.out, blockSize, scale: a.scale, items: u.prefillItems });
  }
  if (u.decode) plasAttentionDecode(step, { ...sparse, out: a.out, blockSize, scale: a.scale, ...u.decode });

  a.debug?.({
    plan,
    counts: step.read(u.counts),
    lists: step.read(u.lists),
    selection: plan.allDense ? null : step.read(u.selection),
    scores: debugScores,
  });

  if (sampled && a.stats) {
    recordSample(a.stats, {
      layer: a.layerIndex ?? 0,
      batch: a.batch,
      plan,
      heads,
      kvHeads,
      search: a.config.topkSearch,
      counts: step.read(u.counts),
      chunks: chunkReads,
    });
  }
}

/**
 * What a score group's rows score blocks with: the key sums (learned-gate sums, or mean pooling where the layer has no
 * gate), or the key bounds (plain, or weighted by the layer's key-bound gate; the plain bound where it has none).
 */
function blockSummary(
  score: BlockScore,
  a: PlasAttentionArgs,
  keySums: Tensor,
  keyBounds: Tensor,
): Pick<PlasBlockScoresArgs, 'keySums' | 'summary' | 'boundGate'> {
  if (score === 'gate') return { keySums, summary: a.gate === undefined ? 'mean' : 'gate' };
  if (score === 'bound-gate' && a.boundGate)
    return { keySums: keyBounds, summary: 'bound-gate', boundGate: a.boundGate };
  return { keySums: keyBounds, summary: 'bound' };
}
