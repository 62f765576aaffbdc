/**
 * Launchers for causal attention with grouped-query heads over a contiguous KV cache:
 * - attentionPrefill (shaders/attention_prefill.wgsl): query tiles x key tiles with an online softmax;
 * - attentionDecode (shaders/attention_decode_split.wgsl + attention_decode_merge.wgsl): flash-decoding, split-K over
 *   key tiles, then a log-sum-exp merge of the splits.
 * Query head h uses kv head floor(h / (heads / kvHeads)). head_dim D is any multiple of 4 up to 256.
 */
import { expect, expectDistinct, expectTensor, grid, nextPowerOfTwo } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const ATTENTION_PREFILL_PARAMS = uniformLayout('attention_prefill', 'attention_prefill.wgsl', [
  ['query_len', 'u32'],
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['query_start', 'u32'],
  ['kv_length', 'u32'],
  ['scale_log2', 'f32'],
  ['q_tiles', 'u32'],
  ['grid_x', 'u32'],
] as const);

export const ATTENTION_DECODE_SPLIT_PARAMS = uniformLayout('attention_decode_split', 'attention_decode_split.wgsl', [
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['head_blocks', 'u32'],
  ['kv_length', 'u32'],
  ['splits', 'u32'],
  ['tiles_per_split', 'u32'],
  ['scale_log2', 'f32'],
] as const);

export const ATTENTION_DECODE_MERGE_PARAMS = uniformLayout('attention_decode_merge', 'attention_decode_merge.wgsl', [
  ['heads', 'u32'],
  ['splits', 'u32'],
  ['grid_x', 'u32'],
] as const);

export interface AttentionPrefillArgs {
  /** f32 [T, heads, D]: queries of positions queryStart .. queryStart+T-1 of ONE sequence */
  q: Tensor;
  /** f32 [S, kvHeads, D]: contiguous KV cache (S = capacity), rows 0..kvLength-1 valid */
  k: Tensor;
  /** f32 [S, kvHeads, D] */
  v: Tensor;
  /** f32 [T, heads, D] */
  out: Tensor;
  /** Query row t attends keys 0 ..= queryStart + t (causal); chunked prefill gives queryStart > 0. */
  queryStart: number;
  /** >= queryStart + T */
  kvLength: number;
  /** Default 1/sqrt(D). */
  scale?: number;
}

export interface AttentionDecodeArgs {
  /** f32 [1, heads, D]: one new token at position kvLength-1 (its K/V already written to the cache) */
  q: Tensor;
  /** f32 [S, kvHeads, D] */
  k: Tensor;
  /** f32 [S, kvHeads, D] */
  v: Tensor;
  /** f32 [1, heads, D] */
  out: Tensor;
  /** Keys 0..kvLength-1. */
  kvLength: number;
  scale?: number;
  /** Split-K partitions; default chosen from kvLength and the head count. At most one split per KV tile. */
  splits?: number;
}

const MAX_HEAD_DIM = 256;
const MAX_THREADS = 256;
/** Max vec4 output columns per thread in the prefill shader (its MAX_COLS). */
const PREFILL_MAX_COLS = 8;
/** Decode: aim for this many split workgroups in flight, so a few KV heads still fill a large GPU... */
const DECODE_TARGET_WORKGROUPS = 256;
/** ...but give each split at least this many tiles, so the merge stays small next to the KV reads. */
const DECODE_MIN_TILES_PER_SPLIT = 2;

/** log2(e): the shaders keep logits in base 2 and use exp2. */
const LOG2E = Math.LOG2E;

/** Checks shared by both launchers; returns [S, kvHeads, D] and the scale. */
function checkCache(kernel: string, a: { q: Tensor; k: Tensor; v: Tensor; out: Tensor; scale?: number }) {
  expectTensor(kernel, 'q', a.q, 'f32', ['T', 'heads', 'D']);
  const [, heads, D] = a.q.shape;
  expectTensor(kernel, 'k', a.k, 'f32', ['S', 'kvHeads', D]);
  const [S, kvHeads] = a.k.shape;
  expectTensor(kernel, 'v', a.v, 'f32', [S, kvHeads, D]);
  expect(
    kernel,
    D % 4 === 0 && D >= 4 && D <= MAX_HEAD_DIM,
    () => `head dim must be a multiple of 4 in [4, 256], got ${D}`,
  );
  expect(
    kernel,
    kvHeads >= 1 && heads % kvHeads === 0,
    () => `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`,
  );
  const scale = a.scale ?? 1 / Math.sqrt(D);
  expect(kernel, Number.isFinite(scale) && scale > 0, () => `scale must be a positive number, got ${a.scale}`);
  // out is written; it may not share a buffer with an input (k and v may share one: both are only read).
  expectDistinct(kernel, { q: a.q, out: a.out });
  expectDistinct(kernel, { k: a.k, out: a.out });
  expectDistinct(kernel, { v: a.v, out: a.out });
  return { heads, D, S, kvHeads, scale };
}

function expectKvLength(kernel: string, kvLength: number, S: number): void {
  expect(
    kernel,
    Number.isInteger(kvLength) && kvLength >= 1 && kvLength <= S,
    () => `kvLength must be an integer in [1, S = ${S}] (the cache capacity), got ${kvLength}`,
  );
}

export interface PrefillPlan {
  /** Query rows (folded position x head of a GQA group) per workgroup. */
  rowsPerTile: number;
  /** Keys per tile. */
  keysPerTile: number;
  threadsPerRow: number;
}

/** Workgroup memory of the prefill shader, as its header states. */
function prefillBytes(bq: number, bk: number, d4: number): number {
  return 16 * (bq * (d4 + 1) + bk * (2 * d4 + 1)) + 4 * bq * bk;
}

/**
 * The first tiles that fit the workgroup memory (32 KiB on SwiftShader and most GPUs: 32x16 at D <= 80, 16x16 at
 * D=128, 8x8 at D=256), and threads per row so that each thread owns at most 4 output vec4s where the 256-thread cap
 * allows. Bigger tiles (32x32 at D=64) were slower on SwiftShader, whose per-pipeline compile time also grows with
 * the workgroup memory a shader declares.
 */
export function planAttentionPrefill(headDim: number, workgroupBytes: number): PrefillPlan {
  const d4 = headDim / 4;
  const tiles: [number, number][] = [
    [32, 16],
    [16, 16],
    [16, 8],
    [8, 8],
  ];
  const fit = tiles.find(([bq, bk]) => prefillBytes(bq, bk, d4) <= workgroupBytes);
  if (!fit)
    throw new Error(`attention_prefill: no tile fits ${workgroupBytes} bytes of workgroup memory at D=${headDim}`);
  const [rowsPerTile, keysPerTile] = fit;
  const threadsPerRow = Math.min(MAX_THREADS / rowsPerTile, nextPowerOfTwo(Math.ceil(d4 / 4)));
  if (Math.ceil(d4 / threadsPerRow) > PREFILL_MAX_COLS) throw new Error(`attention_prefill: D=${headDim} too large`);
  return { rowsPerTile, keysPerTile, threadsPerRow };
}

export function attentionPrefill(step: Step, a: AttentionPrefillArgs): void {
  const kernel = 'attention_prefill';
  const { heads, D, S, kvHeads, scale } = checkCache(kernel, a);
  const T = a.q.shape[0];
  expectTensor(kernel, 'out', a.out, 'f32', [T, heads, D]);
  expect(
    kernel,
    Number.isInteger(a.queryStart) && a.queryStart >= 0,
    () => `queryStart must be a non-negative integer, got ${a.queryStart}`,
  );
  expectKvLength(kernel, a.kvLength, S);
  expect(
    kernel,
    a.kvLength >= a.queryStart + T,
    () =>
      `kvLength (${a.kvLength}) must be >= queryStart + T (${a.queryStart} + ${T}): the chunk's own keys are cached`,
  );
  if (T === 0) return;
  const group = heads / kvHeads;
  const plan = planAttentionPrefill(D, step.gpu.limits.maxComputeWorkgroupStorageSize);
  const qTiles = Math.ceil((T * group) / plan.rowsPerTile);
  const [gx, gy] = grid(qTiles * kvHeads, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'attention_prefill.wgsl',
      libs: ['lib/attention_prefill_tile.wgsl'],
      constants: { D4: D / 4, BQ: plan.rowsPerTile, BK: plan.keysPerTile, TPR: plan.threadsPerRow },
    }),
    uniforms: ATTENTION_PREFILL_PARAMS.pack({
      query_len: T,
      heads,
      kv_heads: kvHeads,
      group,
      query_start: a.queryStart,
      kv_length: a.kvLength,
      scale_log2: scale * LOG2E,
      q_tiles: qTiles,
      grid_x: gx,
    }),
    bindings: [a.q, a.k, a.v, a.out],
    workgroups: [gx, gy],
  });
}

export interface DecodePlan {
  /** Query heads per split workgroup (of one GQA group) and how many blocks a group takes. */
  headsPerBlock: number;
  headBlocks: number;
  /** Key positions per KV tile. */
  tile: number;
  /** Effective split count: splits * tilesPerSplit covers every tile and no split is empty. */
  splits: number;
  tilesPerSplit: number;
  threads: number;
}

function decodeBytes(hb: number, tile: number, d4: number): number {
  return 16 * (hb * d4 + tile * (d4 + 1)) + 4 * hb * tile;
}

/**
 * Heads per block: the whole GQA group when its heads x D/4 output vec4s fit 256 threads. Tile: 32 keys where the
 * workgroup memory allows, else 16. Splits: as requested (or enough for
 * ~256 workgroups, >= 2 tiles each), then evened out over the tiles.
 */
export function planAttentionDecode(
  o: { heads: number; kvHeads: number; headDim: number; kvLength: number; splits?: number },
  workgroupBytes: number,
): DecodePlan {
  const d4 = o.headDim / 4;
  const group = o.heads / o.kvHeads;
  const maxHeads = Math.max(1, Math.floor(MAX_THREADS / d4));
  const headBlocks = Math.ceil(group / maxHeads);
  const headsPerBlock = Math.ceil(group / headBlocks);
  const tile = [32, 16].find((t) => decodeBytes(headsPerBlock, t, d4) <= workgroupBytes);
  if (tile === undefined) throw new Error(`attention_decode_split: no tile fits ${workgroupBytes} bytes`);
  const numTiles = Math.ceil(o.kvLength / tile);
  const wanted =
    o.splits ??
    Math.min(
      Math.ceil(DECODE_TARGET_WORKGROUPS / (o.kvHeads * headBlocks)),
      Math.ceil(numTiles / DECODE_MIN_TILES_PER_SPLIT),
    );
  const tilesPerSplit = Math.ceil(numTiles / Math.max(1, Math.min(wanted, numTiles)));
  const threads = Math.min(MAX_THREADS, Math.ceil((headsPerBlock * d4) / 32) * 32);
  return { headsPerBlock, headBlocks, tile, splits: Math.ceil(numTiles / tilesPerSplit), tilesPerSplit, threads };
}

export function attentionDecode(step: Step, a: AttentionDecodeArgs): void {
  const kernel = 'attention_decode_split';
  const { heads, D, S, kvHeads, scale } = checkCache(kernel, a);
  expectTensor(kernel, 'q', a.q, 'f32', [1, heads, D]);
  expectTensor(kernel, 'out', a.out, 'f32', [1, heads, D]);
  expectKvLength(kernel, a.kvLength, S);
  expect(
    kernel,
    a.splits === undefined || (Number.isInteger(a.splits) && a.splits >= 1),
    () => `splits must be a positive integer, got ${a.splits}`,
  );
  const limits = step.gpu.limits;
  const plan = planAttentionDecode(
    { heads, kvHeads, headDim: D, kvLength: a.kvLength, splits: a.splits },
    limits.maxComputeWorkgroupStorageSize,
  );
  expect(
    kernel,
    plan.splits <= limits.maxComputeWorkgroupsPerDimension,
    () => `${plan.splits} splits exceed ${limits.maxComputeWorkgroupsPerDimension} workgroups per dimension`,
  );
  const d4 = D / 4;
  const partialAcc = step.scratch('f32', [heads, plan.splits, D], 'attention partial acc'); // [heads, splits, D]
  const partialMl = step.scratch('f32', [heads, plan.splits, 2], 'attention partial max/sum'); // [heads, splits, 2]
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'attention_decode_split.wgsl',
      libs: ['lib/attention_decode_tile.wgsl'],
      constants: { D4: d4, HB: plan.headsPerBlock, TILE: plan.tile, WG: plan.threads },
    }),
    uniforms: ATTENTION_DECODE_SPLIT_PARAMS.pack({
      heads,
      kv_heads: kvHeads,
      group: heads / kvHeads,
      head_blocks: plan.headBlocks,
      kv_length: a.kvLength,
      splits: plan.splits,
      tiles_per_split: plan.tilesPerSplit,
      scale_log2: scale * LOG2E,
    }),
    bindings: [a.q, a.k, a.v, partialAcc, partialMl],
    workgroups: [kvHeads * plan.headBlocks, plan.splits],
  });

  const merge = 'attention_decode_merge';
  const mergeThreads = 64;
  const [gx, gy] = grid(Math.ceil((heads * d4) / mergeThreads), limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel: merge,
    pipeline: step.gpu.pipelines.get({
      kernel: merge,
      file: 'attention_decode_merge.wgsl',
      constants: { D4: d4, WG: mergeThreads },
    }),
    uniforms: ATTENTION_DECODE_MERGE_PARAMS.pack({ heads, splits: plan.splits, grid_x: gx }),
    bindings: [partialAcc, partialMl, a.out],
    workgroups: [gx, gy],
  });
}
