/**
 * Launchers for causal attention of a continuous batch over the paged KV cache (engine/kv/paged-layout.ts):
 * - decoding sequences (one new token): shaders/paged_attention_decode.wgsl, split-K flash-decoding over work items
 *   (sequence, key split) x kv head group, then shaders/paged_attention_merge.wgsl, a log-sum-exp merge per sequence;
 * - prefill chunks (several new tokens, starting at any position): shaders/paged_attention_prefill.wgsl, tiles of
 *   folded query rows x key tiles with an online softmax.
 * Both kinds go in one call: up to three dispatches over CPU-built work lists (planPagedAttention), which are uploaded
 * once per (step, batch, shape) and shared by every layer of the step. Query head h uses kv head floor(h / group).
 * Pools are f16 or f32 (lib/kv_f16.wgsl or lib/kv_f32.wgsl, by the pool's dtype). A sliding window (batch.window)
 * starts each decode sequence's splits at its window (CPU plan) and masks the prefill rows per position (shader).
 */
import type { BatchSequence, KvDType, PagedKvLayer } from '../../kv/paged-layout.ts';
import { packBatch, SEQ_COLUMNS } from '../../kv/paged-layout.ts';
import { expect, expectDistinct, expectTensor, grid, nextPowerOfTwo } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';
import { expectPagedLayer, kvLib } from './paged-kv-write.ts';

export { writePagedKv } from './paged-kv-write.ts';

export interface PagedBatch {
  /** u32 [B, 4]: (queryOffset, numQueries, kvLength, tableOffset) per sequence (packBatch) */
  seqs: Tensor;
  /** u32 [n]: the block tables of all sequences, concatenated (packBatch) */
  blockTables: Tensor;
  /** The CPU-side copy of the same batch (work lists are built from it). */
  host: readonly BatchSequence[];
  pageSize: number;
  /** Sliding window: a token at position t attends keys t - window < j <= t only. 0 or absent: none. */
  window?: number;
}

export interface PagedAttentionArgs {
  /** f32 [T, heads, D]: all new tokens of the batch, sequence after sequence (post-RoPE) */
  q: Tensor;
  /** The layer's pools, already holding this step's new K/V (writePagedKv). */
  layer: PagedKvLayer;
  batch: PagedBatch;
  /** f32 [T, heads, D] */
  out: Tensor;
  /** Default 1/sqrt(D). */
  scale?: number;
  /** Decode split size in KV tiles; default chosen from the batch (planPagedAttention). For tests and benchmarks. */
  tilesPerSplit?: number;
}

export const PAGED_DECODE_PARAMS = uniformLayout('paged_attention_decode', 'paged_attention_decode.wgsl', [
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['head_blocks', 'u32'],
  ['page_size', 'u32'],
  ['page_shift', 'u32'],
  ['num_items', 'u32'],
  ['scale_log2', 'f32'],
  ['grid_x', 'u32'],
] as const);

export const PAGED_MERGE_PARAMS = uniformLayout('paged_attention_merge', 'paged_attention_merge.wgsl', [
  ['heads', 'u32'],
  ['num_items', 'u32'],
  ['chunks', 'u32'],
  ['grid_x', 'u32'],
] as const);

export const PAGED_PREFILL_PARAMS = uniformLayout('paged_attention_prefill', 'paged_attention_prefill.wgsl', [
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['page_size', 'u32'],
  ['page_shift', 'u32'],
  ['num_items', 'u32'],
  ['scale_log2', 'f32'],
  ['grid_x', 'u32'],
  ['window', 'u32'],
] as const);

/**
 * Shader libraries of the paged decode and prefill kernels over pools of `dtype`, shared with the PLAS kernels that
 * differ only in the visit.
 */
export function pagedDecodeLibs(dtype: KvDType): string[] {
  return [kvLib(dtype), 'lib/attention_decode_tile.wgsl', 'lib/paged_kv.wgsl', 'lib/attention_decode_paged.wgsl'];
}
export function pagedPrefillLibs(dtype: KvDType): string[] {
  return [kvLib(dtype), 'lib/attention_prefill_tile.wgsl', 'lib/paged_kv.wgsl', 'lib/attention_prefill_paged.wgsl'];
}

/** First position a token at `position` attends: position + 1 - window under a sliding window, else 0. */
export function windowStart(position: number, window: number | undefined): number {
  return window ? Math.max(0, position + 1 - window) : 0;
}

const MAX_HEAD_DIM = 256;
const MAX_THREADS = 256;
/** Max vec4 output columns per thread in the prefill shader (its MAX_COLS). */
const PREFILL_MAX_COLS = 8;
/** Decode: aim for this many split workgroups over the whole batch, so a few sequences still fill a large GPU... */
const DECODE_TARGET_WORKGROUPS = 256;
/** ...but give each split at least this many tiles, so the merge stays small next to the KV reads. */
const DECODE_MIN_TILES_PER_SPLIT = 2;
const MERGE_THREADS = 64;
/** log2(e): the shaders keep logits in base 2 and use exp2. */
const LOG2E = Math.LOG2E;

export interface PagedAttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface PagedDecodePlan {
  /** Query heads per split workgroup (of one GQA group) and how many blocks a group takes. */
  headsPerBlock: number;
  headBlocks: number;
  /** Keys per tile of the split kernel; splits are whole tiles. */
  tile: number;
  threads: number;
  /** Largest split, in tiles. */
  tilesPerSplit: number;
  /** u32 [splits, 4]: (seq, kvStart, kvCount, 0); the splits of a sequence are consecutive. */
  items: Uint32Array;
  /** u32 [decoding sequences, 4]: (seq, firstSplit, numSplits, 0). */
  merges: Uint32Array;
}

export interface PagedPrefillPlan {
  /** Query rows (folded position x head of a GQA group) per workgroup. */
  rowsPerTile: number;
  keysPerTile: number;
  threadsPerRow: number;
  /** u32 [tiles, 4]: (seq, firstFoldedRow, 0, 0), the tiles that see the most keys first. */
  items: Uint32Array;
}

export interface PagedAttentionPlan {
  decode: PagedDecodePlan;
  prefill: PagedPrefillPlan;
}

/** Workgroup memory of the prefill shader, as its header states. */
function prefillBytes(bq: number, bk: number, d4: number): number {
  return 16 * (bq * (d4 + 1) + bk * (2 * d4 + 1)) + 4 * bq * bk + 4 * bk;
}

/** Workgroup memory of the decode shader: q_block, k_tile, scores, tile_rows. */
function decodeBytes(hb: number, tile: number, d4: number): number {
  return 16 * (hb * d4 + tile * (d4 + 1)) + 4 * hb * tile + 4 * tile;
}

function planDecode(
  seqs: readonly BatchSequence[],
  shape: PagedAttentionShape,
  workgroupBytes: number,
  tilesPerSplit?: number,
  window?: number,
): PagedDecodePlan {
  const d4 = shape.headDim / 4;
  const group = shape.heads / shape.kvHeads;
  const maxHeads = Math.max(1, Math.floor(MAX_THREADS / d4));
  const headBlocks = Math.ceil(group / maxHeads);
  const headsPerBlock = Math.ceil(group / headBlocks);
  const tile = [32, 16].find((t) => decodeBytes(headsPerBlock, t, d4) <= workgroupBytes);
  if (tile === undefined) throw new Error(`paged_attention_decode: no tile fits ${workgroupBytes} bytes`);
  const threads = Math.min(MAX_THREADS, Math.ceil((headsPerBlock * d4) / 32) * 32);

  const decoding = seqs.flatMap((s, b) => (s.numQueries === 1 ? [b] : []));
  // Under a sliding window a decoding token's keys start at its window: the splits cover only those.
  const firstKey = (b: number) => windowStart(seqs[b].kvLength - 1, window);
  const tilesOf = (b: number) => Math.ceil((seqs[b].kvLength - firstKey(b)) / tile);
  const totalTiles = decoding.reduce((n, b) => n + tilesOf(b), 0);
  const targetSplits = Math.ceil(DECODE_TARGET_WORKGROUPS / (shape.kvHeads * headBlocks));
  const perSplit =
    tilesPerSplit ?? Math.max(DECODE_MIN_TILES_PER_SPLIT, Math.ceil(totalTiles / Math.max(1, targetSplits)));
  const items: number[] = [];
  const merges: number[] = [];
  let largest = 0;
  for (const b of decoding) {
    const tiles = tilesOf(b);
    // Even the sequence's splits out (never more than perSplit tiles, none empty).
    const even = Math.ceil(tiles / Math.ceil(tiles / perSplit));
    largest = Math.max(largest, even);
    merges.push(b, items.length / 4, Math.ceil(tiles / even), 0);
    for (let t0 = 0; t0 < tiles; t0 += even) {
      const kvStart = firstKey(b) + t0 * tile;
      items.push(b, kvStart, Math.min(even * tile, seqs[b].kvLength - kvStart), 0);
    }
  }
  return {
    headsPerBlock,
    headBlocks,
    tile,
    threads,
    tilesPerSplit: largest,
    items: Uint32Array.from(items),
    merges: Uint32Array.from(merges),
  };
}

/**
 * Tiles as in the contiguous prefill kernel: the first that fit the workgroup memory (32x16 at D <= 80, 16x16 at
 * D=128, 8x8 at D=256 in 32 KiB), threads per row so that each thread owns at most 4 output vec4s where the
 * 256-thread cap allows (8, the shader's MAX_COLS, with bigger tiles on adapters with more workgroup memory).
 */
function planPrefill(seqs: readonly BatchSequence[], shape: PagedAttentionShape, workgroupBytes: number) {
  const d4 = shape.headDim / 4;
  const group = shape.heads / shape.kvHeads;
  const tiles: [number, number][] = [
    [32, 16],
    [16, 16],
    [16, 8],
    [8, 8],
  ];
  const fit = tiles.find(([bq, bk]) => prefillBytes(bq, bk, d4) <= workgroupBytes);
  if (!fit) throw new Error(`paged_attention_prefill: no tile fits ${workgroupBytes} bytes at D=${shape.headDim}`);
  const [rowsPerTile, keysPerTile] = fit;
  const threadsPerRow = Math.min(MAX_THREADS / rowsPerTile, nextPowerOfTwo(Math.ceil(d4 / 4)));
  if (Math.ceil(d4 / threadsPerRow) > PREFILL_MAX_COLS) throw new Error(`paged_attention_prefill: D too large`);

  const tilesWithKeys: [number, number, number][] = []; // (seq, row0, keys its last row sees)
  seqs.forEach((s, b) => {
    if (s.numQueries < 2) return;
    const start = s.kvLength - s.numQueries;
    for (let row0 = 0; row0 < s.numQueries * group; row0 += rowsPerTile) {
      const lastToken = Math.min(s.numQueries - 1, Math.floor((row0 + rowsPerTile - 1) / group));
      tilesWithKeys.push([b, row0, start + lastToken + 1]);
    }
  });
  tilesWithKeys.sort((x, y) => y[2] - x[2]); // longest first, so the tail of the dispatch is short tiles
  const items = Uint32Array.from(tilesWithKeys.flatMap(([b, row0]) => [b, row0, 0, 0]));
  return { rowsPerTile, keysPerTile, threadsPerRow, items };
}

/**
 * The work lists of one batch: decode splits of the sequences with one new token (each split whole KV tiles,
 * balanced so the batch gives ~256 split workgroups, >= 2 tiles each), their merges, and prefill query tiles of the
 * others. Pure CPU; sequences with no new token get no work.
 */
export function planPagedAttention(
  seqs: readonly BatchSequence[],
  shape: PagedAttentionShape,
  workgroupBytes: number,
  options: { tilesPerSplit?: number; window?: number } = {},
): PagedAttentionPlan {
  return {
    decode: planDecode(seqs, shape, workgroupBytes, options.tilesPerSplit, options.window),
    prefill: planPrefill(seqs, shape, workgroupBytes),
  };
}

/** Upload a batch's seqs table and block tables as scratch of `step` (the caller's job; a helper for tests). */
export function uploadPagedBatch(step: Step, host: readonly BatchSequence[], pageSize: number): PagedBatch {
  const packed = packBatch(host);
  const seqs = step.scratch('u32', [host.length, SEQ_COLUMNS], 'paged batch seqs');
  const blockTables = step.scratch('u32', [packed.blockTables.length], 'paged batch block tables');
  if (host.length > 0) step.gpu.writeBytes(seqs, new Uint8Array(packed.seqs.buffer));
  step.gpu.writeBytes(blockTables, new Uint8Array(packed.blockTables.buffer));
  return { seqs, blockTables, host, pageSize };
}

/** The batch's sequences against the tensors: tables long enough, pages in the pool, rows covering q exactly once. */
function checkBatch(kernel: string, batch: PagedBatch, T: number, numPages: number, pageSize: number): void {
  const host = batch.host;
  expect(
    kernel,
    batch.pageSize === pageSize,
    () => `batch.pageSize (${batch.pageSize}) != pool page size (${pageSize})`,
  );
  expectTensor(kernel, 'batch.seqs', batch.seqs, 'u32', [host.length, SEQ_COLUMNS]);
  expectTensor(kernel, 'batch.blockTables', batch.blockTables, 'u32', ['n']);
  let tableLength = 0;
  let queries = 0;
  const covered = new Uint8Array(T);
  host.forEach((s, b) => {
    const what = `sequence ${b} (queryOffset ${s.queryOffset}, numQueries ${s.numQueries}, kvLength ${s.kvLength})`;
    const ints = [s.queryOffset, s.numQueries, s.kvLength].every((x) => Number.isInteger(x) && x >= 0);
    expect(kernel, ints && s.kvLength >= s.numQueries, () => `${what}: needs integers with kvLength >= numQueries`);
    expect(
      kernel,
      s.blockTable.length * pageSize >= s.kvLength,
      () => `${what}: block table of ${s.blockTable.length} pages of ${pageSize} is too short for kvLength`,
    );
    for (const page of s.blockTable) {
      expect(
        kernel,
        Number.isInteger(page) && page >= 0 && page < numPages,
        () => `${what}: page ${page} is not in [0, ${numPages})`,
      );
    }
    expect(kernel, s.queryOffset + s.numQueries <= T, () => `${what}: rows past q's T = ${T}`);
    for (let i = s.queryOffset; i < s.queryOffset + s.numQueries; i++) {
      expect(kernel, covered[i] === 0, () => `${what}: q row ${i} belongs to two sequences`);
      covered[i] = 1;
    }
    tableLength += s.blockTable.length;
    queries += s.numQueries;
  });
  expect(kernel, queries === T, () => `the sequences' numQueries sum to ${queries}, but q has T = ${T} rows`);
  expect(
    kernel,
    batch.blockTables.shape[0] >= tableLength,
    () => `batch.blockTables has ${batch.blockTables.shape[0]} entries, the sequences' tables ${tableLength}`,
  );
}

interface UploadedPlan {
  plan: PagedAttentionPlan;
  decodeItems: Tensor;
  merges: Tensor;
  prefillItems: Tensor;
  partialAcc: Tensor; // [splits, heads, D]
  partialMl: Tensor; // [splits, heads, 2]
}

/** Per step and batch, the uploaded work lists of each shape: every layer of the step reuses them. */
const uploaded = new WeakMap<Step, WeakMap<PagedBatch, Map<string, UploadedPlan>>>();

function uploadList(step: Step, list: Uint32Array, label: string): Tensor {
  const t = step.scratch('u32', [Math.max(1, list.length / 4), 4], label);
  if (list.length > 0) step.gpu.writeBytes(t, new Uint8Array(list.buffer, list.byteOffset, list.byteLength));
  return t;
}

function uploadedPlan(
  step: Step,
  batch: PagedBatch,
  shape: PagedAttentionShape,
  key: string,
  build: () => PagedAttentionPlan,
): UploadedPlan {
  const perBatch = uploaded.get(step) ?? new WeakMap<PagedBatch, Map<string, UploadedPlan>>();
  uploaded.set(step, perBatch);
  const perShape = perBatch.get(batch) ?? new Map<string, UploadedPlan>();
  perBatch.set(batch, perShape);
  const hit = perShape.get(key);
  if (hit) return hit;
  const plan = build();
  const splits = Math.max(1, plan.decode.items.length / 4);
  const u: UploadedPlan = {
    plan,
    decodeItems: uploadList(step, plan.decode.items, 'paged attention decode items'),
    merges: uploadList(step, plan.decode.merges, 'paged attention merge items'),
    prefillItems: uploadList(step, plan.prefill.items, 'paged attention prefill items'),
    partialAcc: step.scratch('f32', [splits, shape.heads, shape.headDim], 'paged attention partial acc'),
    partialMl: step.scratch('f32', [splits, shape.heads, 2], 'paged attention partial max/sum'),
  };
  perShape.set(key, u);
  return u;
}

export function pagedAttention(step: Step, a: PagedAttentionArgs): void {
  const kernel = 'paged_attention';
  expectTensor(kernel, 'q', a.q, 'f32', ['T', 'heads', 'D']);
  const [T, heads, D] = a.q.shape;
  const [numPages, pageSize, kvHeads] = expectPagedLayer(kernel, a.layer);
  expectTensor(kernel, 'layer.k', a.layer.k, a.layer.k.dtype, [numPages, pageSize, kvHeads, D]);
  const window = a.batch.window ?? 0;
  expect(kernel, Number.isInteger(window) && window >= 0, () => `batch.window must be an integer >= 0, got ${window}`);
  const kvDtype = a.layer.k.dtype as KvDType;
  expectTensor(kernel, 'out', a.out, 'f32', [T, heads, D]);
  expect(kernel, D <= MAX_HEAD_DIM, () => `head dim must be a multiple of 4 in [4, 256], got ${D}`);
  expect(kernel, heads % kvHeads === 0, () => `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  const scale = a.scale ?? 1 / Math.sqrt(D);
  expect(kernel, Number.isFinite(scale) && scale > 0, () => `scale must be a positive number, got ${a.scale}`);
  expect(
    kernel,
    a.tilesPerSplit === undefined || (Number.isInteger(a.tilesPerSplit) && a.tilesPerSplit >= 1),
    () => `tilesPerSplit must be a positive integer, got ${a.tilesPerSplit}`,
  );
  // out is written, so it may not share a buffer with an input; the inputs are only read and may share one.
  const { seqs: s, blockTables: bt } = a.batch;
  for (const [name, t] of Object.entries({
    q: a.q,
    'layer.k': a.layer.k,
    'layer.v': a.layer.v,
    'batch.seqs': s,
    'batch.blockTables': bt,
  })) {
    expectDistinct(kernel, { [name]: t, out: a.out });
  }

  const shape = { heads, kvHeads, headDim: D };
  const limits = step.gpu.limits;
  const key = `${heads}:${kvHeads}x${D} pages ${numPages}x${pageSize} split ${a.tilesPerSplit ?? '-'} T ${T}`;
  const u = uploadedPlan(step, a.batch, shape, key, () => {
    checkBatch(kernel, a.batch, T, numPages, pageSize);
    return planPagedAttention(a.batch.host, shape, limits.maxComputeWorkgroupStorageSize, {
      tilesPerSplit: a.tilesPerSplit,
      window,
    });
  });
  const { decode, prefill } = u.plan;
  const group = heads / kvHeads;
  const d4 = D / 4;
  const pageShift = Math.log2(pageSize);
  const scaleLog2 = scale * LOG2E;
  const maxDim = limits.maxComputeWorkgroupsPerDimension;
  const { seqs, blockTables } = a.batch;

  const splits = decode.items.length / 4;
  if (splits > 0) {
    const k = 'paged_attention_decode';
    const [gx, gy] = grid(splits * kvHeads * decode.headBlocks, maxDim);
    step.dispatch({
      kernel: k,
      pipeline: step.gpu.pipelines.get({
        kernel: k,
        file: 'paged_attention_decode.wgsl',
        libs: pagedDecodeLibs(kvDtype),
        constants: { D4: d4, HB: decode.headsPerBlock, TILE: decode.tile, WG: decode.threads },
      }),
      uniforms: PAGED_DECODE_PARAMS.pack({
        heads,
        kv_heads: kvHeads,
        group,
        head_blocks: decode.headBlocks,
        page_size: pageSize,
        page_shift: pageShift,
        num_items: splits,
        scale_log2: scaleLog2,
        grid_x: gx,
      }),
      bindings: [a.q, a.layer.k, a.layer.v, seqs, blockTables, u.decodeItems, u.partialAcc, u.partialMl],
      workgroups: [gx, gy],
    });

    const m = 'paged_attention_merge';
    const numMerges = decode.merges.length / 4;
    const chunks = Math.ceil((heads * d4) / MERGE_THREADS);
    const [mx, my] = grid(numMerges * chunks, maxDim);
    step.dispatch({
      kernel: m,
      pipeline: step.gpu.pipelines.get({
        kernel: m,
        file: 'paged_attention_merge.wgsl',
        constants: { D4: d4, WG: MERGE_THREADS },
      }),
      uniforms: PAGED_MERGE_PARAMS.pack({ heads, num_items: numMerges, chunks, grid_x: mx }),
      bindings: [u.partialAcc, u.partialMl, seqs, u.merges, a.out],
      workgroups: [mx, my],
    });
  }

  const tiles = prefill.items.length / 4;
  if (tiles > 0) {
    const k = 'paged_attention_prefill';
    const [gx, gy] = grid(tiles * kvHeads, maxDim);
    step.dispatch({
      kernel: k,
      pipeline: step.gpu.pipelines.get({
        kernel: k,
        file: 'paged_attention_prefill.wgsl',
        libs: pagedPrefillLibs(kvDtype),
        constants: { D4: d4, BQ: prefill.rowsPerTile, BK: prefill.keysPerTile, TPR: prefill.threadsPerRow },
      }),
      uniforms: PAGED_PREFILL_PARAMS.pack({
        heads,
        kv_heads: kvHeads,
        group,
        page_size: pageSize,
        page_shift: pageShift,
        num_items: tiles,
        scale_log2: scaleLog2,
        grid_x: gx,
        window,
      }),
      bindings: [a.q, a.layer.k, a.layer.v, seqs, blockTables, u.prefillItems, a.out],
      workgroups: [gx, gy],
    });
  }
}
