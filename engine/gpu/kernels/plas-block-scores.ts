/** Launcher for shaders/plas_block_scores.wgsl: PLAS gate scores of every causal candidate block per query and head. */
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const PLAS_BLOCK_SCORES_PARAMS = uniformLayout('plas_block_scores', 'plas_block_scores.wgsl', [
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['d4', 'u32'],
  ['page_size', 'u32'],
  ['block_size', 'u32'],
  ['ratio', 'u32'],
  ['max_blocks', 'u32'],
  ['row_base', 'u32'],
  ['items', 'u32'],
  ['block_tiles', 'u32'],
  ['summary', 'u32'],
  ['grid_x', 'u32'],
] as const);

export interface PlasBlockScoresArgs {
  /** f32 [totalTokens, heads, D] */
  q: Tensor;
  /**
   * f32 [numPages, kvHeads, D]: key sums; with summary 'bound' or 'bound-gate', key bounds f32 [numPages, kvHeads,
   * 2 * D].
   */
  keySums: Tensor;
  /** u32 [B, 4] (paged-layout.ts) */
  seqs: Tensor;
  /** u32 [n] */
  blockTables: Tensor;
  /** u32 [I, 4] = (seq, firstQuery, count, 0) */
  items: Tensor;
  /** f32 [scoreRows, heads, maxBlocks]: written for the items' queries (row = query row - rowBase). */
  scores: Tensor;
  pageSize: number;
  blockSize: number;
  rowBase?: number;
  /**
   * What keySums holds and how a block is scored: 'mean' (plain sums, divided by the tokens present), 'gate' (learned
   * gate sums, as they are), 'bound' (per-page key max and min: the block's largest possible q . k), 'bound-gate' (the
   * same extremes, weighted per channel by `boundGate`). Default 'mean'.
   */
  summary?: BlockSummary;
  /** f32 [kvHeads, 4, D]: the learned gate in key-bound form (engine/plas/gate-weights.ts); with 'bound-gate' only. */
  boundGate?: Tensor;
}

export type BlockSummary = 'mean' | 'gate' | 'bound' | 'bound-gate';
const SUMMARY_CODE: Record<BlockSummary, number> = { gate: 0, mean: 1, bound: 2, 'bound-gate': 3 };

/** Blocks per workgroup of the shader (its BK): 8 x 8 threads, each scoring 4 rows x 4 blocks. */
const BLOCKS_PER_TILE = 32;

export function plasBlockScores(step: Step, a: PlasBlockScoresArgs): void {
  const kernel = 'plas_block_scores';
  expectTensor(kernel, 'q', a.q, 'f32', ['totalTokens', 'heads', 'D']);
  const [, heads, D] = a.q.shape;
  expect(kernel, D % 4 === 0 && D >= 4 && D <= 256, () => `head dim must be a multiple of 4 in [4, 256], got ${D}`);
  const summary = a.summary ?? 'mean';
  const bounds = summary === 'bound' || summary === 'bound-gate';
  expectTensor(kernel, bounds ? 'keyBounds' : 'keySums', a.keySums, 'f32', ['numPages', 'kvHeads', bounds ? 2 * D : D]);
  const kvHeads = a.keySums.shape[1];
  expect(
    kernel,
    (summary === 'bound-gate') === (a.boundGate !== undefined),
    () => `boundGate must be given exactly with summary 'bound-gate' (summary '${summary}')`,
  );
  if (a.boundGate) expectTensor(kernel, 'boundGate', a.boundGate, 'f32', [kvHeads, 4, D]);
  expect(kernel, heads % kvHeads === 0, () => `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  expectTensor(kernel, 'seqs', a.seqs, 'u32', ['B', 4]);
  expectTensor(kernel, 'blockTables', a.blockTables, 'u32', ['n']);
  expectTensor(kernel, 'items', a.items, 'u32', ['I', 4]);
  expectTensor(kernel, 'scores', a.scores, 'f32', ['scoreRows', heads, 'maxBlocks']);
  expect(
    kernel,
    Number.isInteger(a.blockSize) && a.blockSize >= a.pageSize && a.blockSize % a.pageSize === 0,
    () => `blockSize (${a.blockSize}) must be a multiple of pageSize (${a.pageSize})`,
  );
  const rowBase = a.rowBase ?? 0;
  expect(kernel, Number.isInteger(rowBase) && rowBase >= 0, () => `rowBase must be >= 0, got ${rowBase}`);
  expectDistinct(kernel, { scores: a.scores, q: a.q });
  expectDistinct(kernel, { scores: a.scores, keySums: a.keySums });
  const maxBlocks = a.scores.shape[2];
  const group = heads / kvHeads;
  const items = a.items.shape[0];
  const blockTiles = Math.ceil(maxBlocks / BLOCKS_PER_TILE);
  const [gx, gy] = grid(items * kvHeads * blockTiles, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'plas_block_scores.wgsl' }),
    uniforms: PLAS_BLOCK_SCORES_PARAMS.pack({
      heads,
      kv_heads: kvHeads,
      group,
      d4: D / 4,
      page_size: a.pageSize,
      block_size: a.blockSize,
      ratio: a.blockSize / a.pageSize,
      max_blocks: maxBlocks,
      row_base: rowBase,
      items,
      block_tiles: blockTiles,
      summary: SUMMARY_CODE[summary],
      grid_x: gx,
    }),
    // Without a bound gate the shader never reads binding 7: the keys' summary stands in (read-only, like the gate).
    bindings: [a.q, a.keySums, a.seqs, a.blockTables, a.items, a.scores, a.boundGate ?? a.keySums],
    workgroups: [gx, gy],
  });
}
