/**
 * Launchers for PLAS block-sparse attention over the paged KV cache, the paged attention kernels with the KV visit
 * replaced by per-(unit, kv head) block lists (plas_union.wgsl):
 * - plasAttentionPrefill (shaders/plas_attention_prefill.wgsl): tiles of folded query rows of a unit x key tiles of
 *   its listed blocks, online softmax, exact causal mask;
 * - plasAttentionDecode (shaders/plas_attention_decode.wgsl, then shaders/paged_attention_merge.wgsl): split-K
 *   flash-decoding over the listed blocks of each decoding sequence, log-sum-exp merge per sequence.
 * Work lists come from engine/plas/plan.ts (prefillItems, decodeSplits).
 */
import type { KvDType, PagedKvLayer } from '../../kv/paged-layout.ts';
import { expect, expectDistinct, expectTensor, grid, nextPowerOfTwo } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';
import { PAGED_MERGE_PARAMS, pagedDecodeLibs, pagedPrefillLibs } from './paged-attention.ts';

export const PLAS_PREFILL_PARAMS = uniformLayout('plas_attention_prefill', 'plas_attention_prefill.wgsl', [
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['page_size', 'u32'],
  ['page_shift', 'u32'],
  ['block_shift', 'u32'],
  ['max_blocks', 'u32'],
  ['num_items', 'u32'],
  ['scale_log2', 'f32'],
  ['grid_x', 'u32'],
  ['window', 'u32'],
] as const);

export const PLAS_DECODE_PARAMS = uniformLayout('plas_attention_decode', 'plas_attention_decode.wgsl', [
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['head_blocks', 'u32'],
  ['page_size', 'u32'],
  ['page_shift', 'u32'],
  ['block_shift', 'u32'],
  ['max_blocks', 'u32'],
  ['num_items', 'u32'],
  ['scale_log2', 'f32'],
  ['grid_x', 'u32'],
  ['window', 'u32'],
] as const);

const MAX_THREADS = 256;
const PREFILL_MAX_COLS = 8;
const MERGE_THREADS = 64;

export interface PlasSparseCommon {
  /** f32 [T, heads, D] (post-RoPE) */
  q: Tensor;
  /** The layer's pools, holding this step's K/V. */
  layer: PagedKvLayer;
  /** u32 [B, 4] and u32 [n] (paged-layout.ts). */
  seqs: Tensor;
  blockTables: Tensor;
  /** u32 [U, 4] = (seq, firstQuery, count, dense) */
  units: Tensor;
  /** u32 [U, kvHeads, maxBlocks], u32 [U, kvHeads] from plasUnion. */
  lists: Tensor;
  counts: Tensor;
  /** f32 [T, heads, D] */
  out: Tensor;
  blockSize: number;
  scale?: number;
  /** Sliding window: a token at position t attends keys t - window < j <= t only. 0 or absent: none. */
  window?: number;
}

export interface PlasPrefillArgs extends PlasSparseCommon {
  /** u32 [P, 4] = (unit, firstFoldedRow, 0, 0), one per tile of planPlasPrefill(D).rowsPerTile rows. */
  items: Tensor;
}

export interface PlasDecodeArgs extends PlasSparseCommon {
  /** u32 [S, 4] = (unit, split, numSplits, 0) and u32 [M, 4] = (seq, firstSplit, numSplits, 0) (plan.ts decodeSplits). */
  items: Tensor;
  merges: Tensor;
}

export interface PlasPrefillPlan {
  rowsPerTile: number;
  keysPerTile: number;
  threadsPerRow: number;
}

export interface PlasDecodePlan {
  headsPerBlock: number;
  headBlocks: number;
  tile: number;
  threads: number;
}

function prefillBytes(bq: number, bk: number, d4: number): number {
  return 16 * (bq * (d4 + 1) + bk * (2 * d4 + 1)) + 4 * bq * bk + 4 * bk;
}

function decodeBytes(hb: number, tile: number, d4: number): number {
  return 16 * (hb * d4 + tile * (d4 + 1)) + 4 * hb * tile + 4 * tile;
}

/** The dense paged prefill's tiles: the first that fits (32x16 at D <= 80, 16x16 at D=128, 8x8 at D=256). */
export function planPlasPrefill(headDim: number, workgroupBytes: number): PlasPrefillPlan {
  const d4 = headDim / 4;
  const tiles: [number, number][] = [
    [32, 16],
    [16, 16],
    [16, 8],
    [8, 8],
  ];
  const fit = tiles.find(([bq, bk]) => prefillBytes(bq, bk, d4) <= workgroupBytes);
  if (!fit) throw new Error(`plas_attention_prefill: no tile fits ${workgroupBytes} bytes at D=${headDim}`);
  const [rowsPerTile, keysPerTile] = fit;
  const threadsPerRow = Math.min(MAX_THREADS / rowsPerTile, nextPowerOfTwo(Math.ceil(d4 / 4)));
  if (Math.ceil(d4 / threadsPerRow) > PREFILL_MAX_COLS) throw new Error(`plas_attention_prefill: D too large`);
  return { rowsPerTile, keysPerTile, threadsPerRow };
}

/** The dense paged decode's blocking: a GQA group per workgroup when its heads x D/4 fit 256 threads; tile 32 or 16. */
export function planPlasDecode(
  heads: number,
  kvHeads: number,
  headDim: number,
  workgroupBytes: number,
): PlasDecodePlan {
  const d4 = headDim / 4;
  const group = heads / kvHeads;
  const headBlocks = Math.ceil(group / Math.max(1, Math.floor(MAX_THREADS / d4)));
  const headsPerBlock = Math.ceil(group / headBlocks);
  const tile = [32, 16].find((t) => decodeBytes(headsPerBlock, t, d4) <= workgroupBytes);
  if (tile === undefined) throw new Error(`plas_attention_decode: no tile fits ${workgroupBytes} bytes`);
  const threads = Math.min(MAX_THREADS, Math.ceil((headsPerBlock * d4) / 32) * 32);
  return { headsPerBlock, headBlocks, tile, threads };
}

function checkCommon(kernel: string, a: PlasSparseCommon) {
  expectTensor(kernel, 'q', a.q, 'f32', ['T', 'heads', 'D']);
  const [T, heads, D] = a.q.shape;
  expect(kernel, D % 4 === 0 && D >= 4 && D <= 256, () => `head dim must be a multiple of 4 in [4, 256], got ${D}`);
  expectTensor(kernel, 'layer.k', a.layer.k, ['f16', 'f32'], ['numPages', 'pageSize', 'kvHeads', D]);
  const [numPages, pageSize, kvHeads] = a.layer.k.shape;
  expectTensor(kernel, 'layer.v', a.layer.v, a.layer.k.dtype, [numPages, pageSize, kvHeads, D]);
  const window = a.window ?? 0;
  expect(kernel, Number.isInteger(window) && window >= 0, () => `window must be an integer >= 0, got ${window}`);
  expect(kernel, heads % kvHeads === 0, () => `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  expect(
    kernel,
    (pageSize & (pageSize - 1)) === 0 && (a.blockSize & (a.blockSize - 1)) === 0 && a.blockSize % pageSize === 0,
    () =>
      `blockSize (${a.blockSize}) and page size (${pageSize}) must be powers of two, the block a multiple of the page`,
  );
  expectTensor(kernel, 'seqs', a.seqs, 'u32', ['B', 4]);
  expectTensor(kernel, 'blockTables', a.blockTables, 'u32', ['n']);
  expectTensor(kernel, 'units', a.units, 'u32', ['U', 4]);
  const U = a.units.shape[0];
  expectTensor(kernel, 'lists', a.lists, 'u32', [U, kvHeads, 'maxBlocks']);
  expectTensor(kernel, 'counts', a.counts, 'u32', [U, kvHeads]);
  expectTensor(kernel, 'out', a.out, 'f32', [T, heads, D]);
  const scale = a.scale ?? 1 / Math.sqrt(D);
  expect(kernel, Number.isFinite(scale) && scale > 0, () => `scale must be a positive number, got ${a.scale}`);
  for (const [name, t] of Object.entries({ q: a.q, 'layer.k': a.layer.k, 'layer.v': a.layer.v, lists: a.lists })) {
    expectDistinct(kernel, { [name]: t, out: a.out });
  }
  return {
    heads,
    D,
    kvHeads,
    pageSize,
    scale,
    maxBlocks: a.lists.shape[2],
    window,
    kvDtype: a.layer.k.dtype as KvDType,
  };
}

export function plasAttentionPrefill(step: Step, a: PlasPrefillArgs): void {
  const kernel = 'plas_attention_prefill';
  const { heads, D, kvHeads, pageSize, scale, maxBlocks, window, kvDtype } = checkCommon(kernel, a);
  expectTensor(kernel, 'items', a.items, 'u32', ['P', 4]);
  const plan = planPlasPrefill(D, step.gpu.limits.maxComputeWorkgroupStorageSize);
  const items = a.items.shape[0];
  const [gx, gy] = grid(items * kvHeads, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'plas_attention_prefill.wgsl',
      libs: pagedPrefillLibs(kvDtype),
      constants: { D4: D / 4, BQ: plan.rowsPerTile, BK: plan.keysPerTile, TPR: plan.threadsPerRow },
    }),
    uniforms: PLAS_PREFILL_PARAMS.pack({
      heads,
      kv_heads: kvHeads,
      group: heads / kvHeads,
      page_size: pageSize,
      page_shift: Math.log2(pageSize),
      block_shift: Math.log2(a.blockSize),
      max_blocks: maxBlocks,
      num_items: items,
      scale_log2: scale * Math.LOG2E,
      grid_x: gx,
      window,
    }),
    bindings: [a.q, a.layer.k, a.layer.v, a.seqs, a.blockTables, a.units, a.items, a.lists, a.counts, a.out],
    workgroups: [gx, gy],
  });
}

export function plasAttentionDecode(step: Step, a: PlasDecodeArgs): void {
  const kernel = 'plas_attention_decode';
  const { heads, D, kvHeads, pageSize, scale, maxBlocks, window, kvDtype } = checkCommon(kernel, a);
  expectTensor(kernel, 'items', a.items, 'u32', ['S', 4]);
  expectTensor(kernel, 'merges', a.merges, 'u32', ['M', 4]);
  const limits = step.gpu.limits;
  const plan = planPlasDecode(heads, kvHeads, D, limits.maxComputeWorkgroupStorageSize);
  const splits = a.items.shape[0];
  const d4 = D / 4;
  const partialAcc = step.scratch('f32', [splits, heads, D], 'plas decode partial acc'); // [splits, heads, D]
  const partialMl = step.scratch('f32', [splits, heads, 2], 'plas decode partial max/sum'); // [splits, heads, 2]
  const [gx, gy] = grid(splits * kvHeads * plan.headBlocks, limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'plas_attention_decode.wgsl',
      libs: pagedDecodeLibs(kvDtype),
      constants: { D4: d4, HB: plan.headsPerBlock, TILE: plan.tile, WG: plan.threads },
    }),
    uniforms: PLAS_DECODE_PARAMS.pack({
      heads,
      kv_heads: kvHeads,
      group: heads / kvHeads,
      head_blocks: plan.headBlocks,
      page_size: pageSize,
      page_shift: Math.log2(pageSize),
      block_shift: Math.log2(a.blockSize),
      max_blocks: maxBlocks,
      num_items: splits,
      scale_log2: scale * Math.LOG2E,
      grid_x: gx,
      window,
    }),
    bindings: [
      a.q,
      a.layer.k,
      a.layer.v,
      a.seqs,
      a.blockTables,
      a.units,
      a.items,
      a.lists,
      a.counts,
      partialAcc,
      partialMl,
    ],
    workgroups: [gx, gy],
  });

  // The dense paged decode's merge: the partials have its layout, one merge item per decoding sequence.
  const merge = 'paged_attention_merge';
  const numMerges = a.merges.shape[0];
  const chunks = Math.ceil((heads * d4) / MERGE_THREADS);
  const [mx, my] = grid(numMerges * chunks, limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel: merge,
    pipeline: step.gpu.pipelines.get({
      kernel: merge,
      file: 'paged_attention_merge.wgsl',
      constants: { D4: d4, WG: MERGE_THREADS },
    }),
    uniforms: PAGED_MERGE_PARAMS.pack({ heads, num_items: numMerges, chunks, grid_x: mx }),
    bindings: [partialAcc, partialMl, a.seqs, a.merges, a.out],
    workgroups: [mx, my],
  });
}
