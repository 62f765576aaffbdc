/** Launcher for shaders/plas_union.wgsl: per (unit, kv head) the sorted list of blocks the block-sparse attention visits. */
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const PLAS_UNION_PARAMS = uniformLayout('plas_union', 'plas_union.wgsl', [
  ['heads', 'u32'],
  ['kv_heads', 'u32'],
  ['group', 'u32'],
  ['block_size', 'u32'],
  ['words', 'u32'],
  ['max_blocks', 'u32'],
  ['units', 'u32'],
  ['grid_x', 'u32'],
] as const);

export interface PlasUnionArgs {
  /** u32 [totalTokens, heads, words] from plasSelectTopk (rows of dense units are not read). */
  selection: Tensor;
  /** u32 [B, 4] */
  seqs: Tensor;
  /** u32 [U, 4] = (seq, firstQuery, count, dense) */
  units: Tensor;
  /** u32 [U, kvHeads, maxBlocks] */
  lists: Tensor;
  /** u32 [U, kvHeads] */
  counts: Tensor;
  blockSize: number;
}

const WG = 64;

export function plasUnion(step: Step, a: PlasUnionArgs): void {
  const kernel = 'plas_union';
  expectTensor(kernel, 'selection', a.selection, 'u32', ['totalTokens', 'heads', 'words']);
  const [, heads, words] = a.selection.shape;
  expectTensor(kernel, 'seqs', a.seqs, 'u32', ['B', 4]);
  expectTensor(kernel, 'units', a.units, 'u32', ['U', 4]);
  const units = a.units.shape[0];
  expectTensor(kernel, 'lists', a.lists, 'u32', [units, 'kvHeads', 'maxBlocks']);
  const [, kvHeads, maxBlocks] = a.lists.shape;
  expectTensor(kernel, 'counts', a.counts, 'u32', [units, kvHeads]);
  expect(kernel, heads % kvHeads === 0, () => `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  expect(
    kernel,
    words === Math.ceil(maxBlocks / 32),
    () => `selection words (${words}) must be ceil(maxBlocks / 32) = ${Math.ceil(maxBlocks / 32)}`,
  );
  expect(kernel, Number.isInteger(a.blockSize) && a.blockSize >= 1, () => `blockSize must be >= 1, got ${a.blockSize}`);
  expectDistinct(kernel, { lists: a.lists, counts: a.counts, selection: a.selection, units: a.units });
  const [gx, gy] = grid(units * kvHeads, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'plas_union.wgsl', constants: { WG } }),
    uniforms: PLAS_UNION_PARAMS.pack({
      heads,
      kv_heads: kvHeads,
      group: heads / kvHeads,
      block_size: a.blockSize,
      words,
      max_blocks: maxBlocks,
      units,
      grid_x: gx,
    }),
    bindings: [a.selection, a.seqs, a.units, a.lists, a.counts],
    workgroups: [gx, gy],
  });
}
