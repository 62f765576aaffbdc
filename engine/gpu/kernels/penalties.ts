/** Launcher for shaders/apply_penalties.wgsl: repetition, presence and frequency penalties in place. */
import { expect, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const PENALTIES_PARAMS = uniformLayout('apply_penalties', 'apply_penalties.wgsl', [
  ['n', 'u32'],
  ['vocab', 'u32'],
  ['rows', 'u32'],
  ['grid_x', 'u32'],
] as const);

export interface PenaltiesArgs {
  /** f32 [B, V], modified in place */
  logits: Tensor;
  /** u32 [n, 3]: (row, token, output count), distinct (row, token) pairs */
  entries: Tensor;
  /** f32 [B, 3]: (repetition, presence, frequency) per row */
  penalties: Tensor;
}

export function applyPenalties(step: Step, a: PenaltiesArgs): void {
  const kernel = 'apply_penalties';
  expectTensor(kernel, 'logits', a.logits, 'f32', ['B', 'V']);
  const [rows, vocab] = a.logits.shape;
  expectTensor(kernel, 'entries', a.entries, 'u32', ['n', 3]);
  expectTensor(kernel, 'penalties', a.penalties, 'f32', [rows, 3]);
  const n = a.entries.shape[0];
  expect(kernel, a.entries.buffer !== a.logits.buffer, () => 'entries and logits share a buffer');
  if (n === 0) return;
  const [gx, gy] = grid(Math.ceil(n / 64), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'apply_penalties.wgsl' }),
    uniforms: PENALTIES_PARAMS.pack({ n, vocab, rows, grid_x: gx }),
    bindings: [a.logits, a.entries, a.penalties],
    workgroups: [gx, gy],
  });
}
