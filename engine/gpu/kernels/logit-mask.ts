/**
 * Launcher for shaders/logit_mask.wgsl: token masks (grammar-constrained decoding) and logit bias, in place on the
 * logits before sampling. Either part may be left out; with neither nothing is recorded.
 */
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const LOGIT_MASK_PARAMS = uniformLayout('logit_mask', 'logit_mask.wgsl', [
  ['rows', 'u32'],
  ['vocab', 'u32'],
  ['words', 'u32'],
  ['masks', 'u32'],
  ['entries', 'u32'],
  ['blocks_per_row', 'u32'],
  ['mask_groups', 'u32'],
  ['grid_x', 'u32'],
] as const);

/** maskRows value of a row without a mask. */
export const NO_MASK = 0xffffffff;
const THREADS = 256;

export interface LogitMaskArgs {
  /** f32 [B, V], modified in place */
  logits: Tensor;
  /** u32 [M, ceil(V / 32)]: bit (t & 31) of word (t >> 5) set = token t allowed; given with maskRows */
  masks?: Tensor;
  /** u32 [B]: each row's index into masks, or NO_MASK */
  maskRows?: Tensor;
  /**
   * u32 [E, 3]: (row, token, f32 bits of the bias), distinct (row, token) pairs. The caller clamps biases to
   * [-100, 100]; a masked-out token stays -inf whatever its bias.
   */
  bias?: Tensor;
}

export function applyLogitMask(step: Step, a: LogitMaskArgs): void {
  const kernel = 'logit_mask';
  expectTensor(kernel, 'logits', a.logits, 'f32', ['B', 'V']);
  const [rows, vocab] = a.logits.shape;
  const words = Math.ceil(vocab / 32);
  expect(kernel, (a.masks === undefined) === (a.maskRows === undefined), () => 'masks and maskRows go together');
  if (a.masks) expectTensor(kernel, 'masks', a.masks, 'u32', ['M', words]);
  if (a.maskRows) expectTensor(kernel, 'maskRows', a.maskRows, 'u32', [rows]);
  if (a.bias) expectTensor(kernel, 'bias', a.bias, 'u32', ['E', 3]);
  expectDistinct(kernel, { logits: a.logits, masks: a.masks, maskRows: a.maskRows, bias: a.bias });
  const masks = a.masks?.shape[0] ?? 0;
  const entries = a.bias?.shape[0] ?? 0;
  if ((masks === 0 || rows === 0) && entries === 0) return;

  const blocksPerRow = Math.ceil(words / THREADS);
  const maskGroups = masks > 0 ? rows * blocksPerRow : 0;
  const [gx, gy] = grid(maskGroups + Math.ceil(entries / THREADS), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  // WGSL needs every binding; a part left out gets a one-word placeholder the shader never reads.
  const unused = (label: string) => step.scratch('u32', [1], `logit_mask ${label} (unused)`);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'logit_mask.wgsl' }),
    uniforms: LOGIT_MASK_PARAMS.pack({
      rows,
      vocab,
      words,
      masks,
      entries,
      blocks_per_row: blocksPerRow,
      mask_groups: maskGroups,
      grid_x: gx,
    }),
    bindings: [
      a.logits,
      masks > 0 ? a.maskRows! : unused('maskRows'),
      masks > 0 ? a.masks! : unused('masks'),
      entries > 0 ? a.bias! : unused('bias'),
    ],
    workgroups: [gx, gy],
  });
}
