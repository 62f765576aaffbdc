/** Launcher for shaders/swiglu.wgsl: out = silu(gate) * up, from separate gate/up tensors or one fused gate_up. */
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const SWIGLU_PARAMS = uniformLayout('swiglu', 'swiglu.wgsl', [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['gate_stride', 'u32'],
  ['up_stride', 'u32'],
  ['up_offset', 'u32'],
  ['grid_x', 'u32'],
] as const);

const WG = 256;
const ELEMS = 4; // elements per thread, as in the shader

export type SwigluArgs =
  | { /** f32 [T, I] */ gate: Tensor /** f32 [T, I] */; up: Tensor /** f32 [T, I] */; out: Tensor }
  | { /** f32 [T, 2I]: gate in [:, :I], up in [:, I:] */ gateUp: Tensor /** f32 [T, I] */; out: Tensor };

export function swiglu(step: Step, a: SwigluArgs): void {
  const kernel = 'swiglu';
  let gate: Tensor;
  let up: Tensor;
  let strides: { gate_stride: number; up_stride: number; up_offset: number };
  expectTensor(kernel, 'out', a.out, 'f32', ['T', 'I']);
  const [rows, cols] = a.out.shape;
  if ('gateUp' in a) {
    expectTensor(kernel, 'gateUp', a.gateUp, 'f32', [rows, 2 * cols]);
    expectDistinct(kernel, { gateUp: a.gateUp, out: a.out });
    gate = a.gateUp;
    up = a.gateUp; // bound twice, read-only both times
    strides = { gate_stride: 2 * cols, up_stride: 2 * cols, up_offset: cols };
  } else {
    expectTensor(kernel, 'gate', a.gate, 'f32', [rows, cols]);
    expectTensor(kernel, 'up', a.up, 'f32', [rows, cols]);
    expectDistinct(kernel, { gate: a.gate, out: a.out });
    expectDistinct(kernel, { up: a.up, out: a.out });
    gate = a.gate;
    up = a.up;
    strides = { gate_stride: cols, up_stride: cols, up_offset: 0 };
  }
  const total = rows * cols;
  expect(kernel, total < 2 ** 32, () => `rows * cols = ${total} must fit in u32`);
  const [gx, gy] = grid(Math.ceil(total / (WG * ELEMS)), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'swiglu.wgsl', constants: { WG } }),
    uniforms: SWIGLU_PARAMS.pack({ rows, cols, ...strides, grid_x: gx }),
    bindings: [gate, up, a.out],
    workgroups: [gx, gy],
  });
}
