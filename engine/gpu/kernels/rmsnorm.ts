/** Launcher for shaders/rmsnorm.wgsl: RMSNorm, optionally fused with the residual add. */
import { expect, expectDistinct, expectTensor, grid, nextPowerOfTwo } from '../check.ts';
import { FLOAT_DTYPES } from '../dtype.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';
import { weightsLib } from './weights-lib.ts';

export const RMSNORM_PARAMS = uniformLayout('rmsnorm', 'rmsnorm.wgsl', [
  ['rows', 'u32'],
  ['n', 'u32'],
  ['eps', 'f32'],
  ['weight_offset', 'f32'],
  ['grid_x', 'u32'],
] as const);

export interface RmsNormArgs {
  /** f32 [rows, n] */
  x: Tensor;
  /** [n], f32/f16/bf16 */
  weight: Tensor;
  /** f32 [rows, n] */
  out: Tensor;
  eps: number;
  /** 1 for norms that store w - 1 (Gemma); default 0. */
  weightOffset?: number;
  /** f32 [rows, n]: when given, h = x + residual is normalised and written to residualOut. */
  residual?: Tensor;
  residualOut?: Tensor;
}

export function rmsnorm(step: Step, a: RmsNormArgs): void {
  const kernel = 'rmsnorm';
  expectTensor(kernel, 'x', a.x, 'f32', ['rows', 'n']);
  const [rows, n] = a.x.shape;
  expectTensor(kernel, 'weight', a.weight, FLOAT_DTYPES, [n]);
  expectTensor(kernel, 'out', a.out, 'f32', [rows, n]);
  expect(kernel, a.eps > 0 && Number.isFinite(a.eps), () => `eps must be a positive number, got ${a.eps}`);
  expect(kernel, !a.residual === !a.residualOut, () => 'residual and residualOut must be given together');
  if (a.residual) {
    expectTensor(kernel, 'residual', a.residual, 'f32', [rows, n]);
    expectTensor(kernel, 'residualOut', a.residualOut, 'f32', [rows, n]);
  }
  expectDistinct(kernel, { x: a.x, out: a.out, residualOut: a.residualOut });
  const wg = Math.min(256, Math.max(32, nextPowerOfTwo(Math.ceil(n / 4))));
  const [gx, gy] = grid(rows, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  const fused = a.residual !== undefined;
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'rmsnorm.wgsl',
      libs: [weightsLib(a.weight.dtype)],
      entryPoint: fused ? 'main_residual' : 'main',
      constants: { WG: wg },
    }),
    uniforms: RMSNORM_PARAMS.pack({ rows, n, eps: a.eps, weight_offset: a.weightOffset ?? 0, grid_x: gx }),
    bindings: fused ? [a.x, a.weight, a.out, a.residual!, a.residualOut!] : [a.x, a.weight, a.out],
    workgroups: [gx, gy],
  });
}
