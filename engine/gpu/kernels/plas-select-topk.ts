/** Launcher for shaders/plas_select_topk.wgsl: approximate top-k block selection by a binary-searched threshold. */
import type { TopkSearch } from '../../plas/config.ts';
import { expect, expectDistinct, expectTensor, grid, nextPowerOfTwo } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const PLAS_SELECT_TOPK_PARAMS = uniformLayout('plas_select_topk', 'plas_select_topk.wgsl', [
  ['heads', 'u32'],
  ['block_size', 'u32'],
  ['max_blocks', 'u32'],
  ['words', 'u32'],
  ['row_base', 'u32'],
  ['items', 'u32'],
  ['left', 'u32'],
  ['right', 'u32'],
  ['iterations', 'u32'],
  ['row_groups', 'u32'],
  ['grid_x', 'u32'],
  ['window', 'u32'],
  ['refined', 'u32'],
] as const);

export interface PlasSelectTopkArgs {
  /** f32 [scoreRows, heads, maxBlocks] from plasBlockScores. */
  scores: Tensor;
  /** u32 [B, 4] */
  seqs: Tensor;
  /** u32 [I, 4] = (seq, firstQuery, count, 0): the same items the scores were computed for. */
  items: Tensor;
  /** u32 [totalTokens, heads, ceil(maxBlocks / 32)] */
  selection: Tensor;
  blockSize: number;
  left: number;
  right: number;
  iterations: number;
  /** Largest count of an item. */
  maxItemTokens: number;
  rowBase?: number;
  /** Sliding window: blocks wholly before a query's window are not candidates. 0 or absent: none. */
  window?: number;
  /**
   * 'refined' (default): forced blocks out of the search's min, max and count, up to 2 x iterations, never below
   * left; 'original': the published rule (see the shader).
   */
  search?: TopkSearch;
}

const WG = 256;

export function plasSelectTopk(step: Step, a: PlasSelectTopkArgs): void {
  const kernel = 'plas_select_topk';
  expectTensor(kernel, 'scores', a.scores, 'f32', ['scoreRows', 'heads', 'maxBlocks']);
  const [, heads, maxBlocks] = a.scores.shape;
  const words = Math.ceil(maxBlocks / 32);
  expectTensor(kernel, 'seqs', a.seqs, 'u32', ['B', 4]);
  expectTensor(kernel, 'items', a.items, 'u32', ['I', 4]);
  expectTensor(kernel, 'selection', a.selection, 'u32', ['totalTokens', heads, words]);
  const positive = (name: string, v: number) =>
    expect(kernel, Number.isInteger(v) && v >= 1, () => `${name} must be a positive integer, got ${v}`);
  positive('blockSize', a.blockSize);
  positive('left', a.left);
  positive('right', a.right);
  positive('iterations', a.iterations);
  positive('maxItemTokens', a.maxItemTokens);
  expect(kernel, a.left <= a.right, () => `left (${a.left}) must be <= right (${a.right})`);
  const rowBase = a.rowBase ?? 0;
  expect(kernel, Number.isInteger(rowBase) && rowBase >= 0, () => `rowBase must be >= 0, got ${rowBase}`);
  const window = a.window ?? 0;
  expect(kernel, Number.isInteger(window) && window >= 0, () => `window must be an integer >= 0, got ${window}`);
  const search = a.search ?? 'refined';
  expect(
    kernel,
    search === 'refined' || search === 'original',
    () => `search must be refined or original, got ${search}`,
  );
  expectDistinct(kernel, { selection: a.selection, scores: a.scores });
  const tpr = Math.min(32, nextPowerOfTwo(words));
  const rowsPerItem = a.maxItemTokens * heads;
  const rowGroups = Math.ceil(rowsPerItem / (WG / tpr));
  const items = a.items.shape[0];
  const [gx, gy] = grid(items * rowGroups, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'plas_select_topk.wgsl', constants: { TPR: tpr, WG } }),
    uniforms: PLAS_SELECT_TOPK_PARAMS.pack({
      heads,
      block_size: a.blockSize,
      max_blocks: maxBlocks,
      words,
      row_base: rowBase,
      items,
      left: a.left,
      right: a.right,
      iterations: a.iterations,
      row_groups: rowGroups,
      grid_x: gx,
      window,
      refined: search === 'refined' ? 1 : 0,
    }),
    bindings: [a.scores, a.seqs, a.items, a.selection],
    workgroups: [gx, gy],
  });
}
