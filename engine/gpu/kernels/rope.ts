/** Launcher for shaders/rope.wgsl: rotary position embedding applied in place to [T, heads, headDim]. */
import { type RopeConfig, ropeConfigProblem, ropeInverseFrequencies } from '../../model/rope-frequencies.ts';
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Gpu } from '../gpu.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export type { RopeConfig } from '../../model/rope-frequencies.ts';

export const ROPE_PARAMS = uniformLayout('rope', 'rope.wgsl', [
  ['tokens', 'u32'],
  ['heads', 'u32'],
  ['head_dim', 'u32'],
  ['half_rot', 'u32'],
  ['interleaved', 'u32'],
  ['grid_x', 'u32'],
] as const);

const WG = 256;

/** inv_freq tensors, uploaded once per device and config (they depend on rotaryDim, theta and scaling only). */
const invFreqCache = new WeakMap<Gpu, Map<string, Tensor>>();

function inverseFrequencies(gpu: Gpu, config: RopeConfig): Tensor {
  const rotaryDim = config.rotaryDim ?? config.headDim;
  const key = JSON.stringify([rotaryDim, config.theta, config.scaling ?? null]);
  let perGpu = invFreqCache.get(gpu);
  if (!perGpu) {
    perGpu = new Map();
    invFreqCache.set(gpu, perGpu);
  }
  let t = perGpu.get(key);
  if (!t) {
    const inv = ropeInverseFrequencies({ ...config, headDim: rotaryDim, rotaryDim });
    t = gpu.upload('f32', [inv.length], inv, `rope inv_freq ${key}`);
    perGpu.set(key, t);
  }
  return t;
}

export interface RopeArgs {
  /** f32 [T, heads, headDim], rotated in place */
  x: Tensor;
  /** u32 [T]: the position of each token (need not be contiguous) */
  positions: Tensor;
  config: RopeConfig;
}

export function rope(step: Step, a: RopeArgs): void {
  const kernel = 'rope';
  const problem = ropeConfigProblem(a.config);
  expect(kernel, problem === null, () => `bad config: ${problem}`);
  const { headDim } = a.config;
  expectTensor(kernel, 'x', a.x, 'f32', ['T', 'heads', headDim]);
  const [tokens, heads] = a.x.shape;
  expectTensor(kernel, 'positions', a.positions, 'u32', [tokens]);
  expectDistinct(kernel, { x: a.x, positions: a.positions });
  const halfRot = (a.config.rotaryDim ?? headDim) / 2;
  expect(kernel, tokens * heads * headDim < 2 ** 32, () => `x has ${tokens * heads * headDim} elements (max 2^32 - 1)`);
  const [gx, gy] = grid(Math.ceil((tokens * halfRot) / WG), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'rope.wgsl', constants: { WG } }),
    uniforms: ROPE_PARAMS.pack({
      tokens,
      heads,
      head_dim: headDim,
      half_rot: halfRot,
      interleaved: a.config.style === 'interleaved' ? 1 : 0,
      grid_x: gx,
    }),
    bindings: [a.x, a.positions, inverseFrequencies(step.gpu, a.config)],
    workgroups: [gx, gy],
  });
}
