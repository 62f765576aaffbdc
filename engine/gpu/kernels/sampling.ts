/**
 * Launchers for on-GPU sampling (shaders/sample.wgsl), greedy argmax (shaders/argmax.wgsl) and the softmax behind
 * logprobs (shaders/softmax.wgsl). Sampling reads back only token ids. What sampling computes is defined by its twin,
 * engine/reference/sampling.ts; the row layout of the parameters, the one thing both use, is
 * engine/generation/sampling-layout.ts.
 */
import { SAMPLING_PARAM, SAMPLING_PARAMS_STRIDE } from '../../generation/sampling-layout.ts';
import { expect, expectDistinct, expectTensor, grid, nextPowerOfTwo } from '../check.ts';
import { KernelArgumentError } from '../errors.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const SAMPLE_PARAMS = uniformLayout('sample', 'sample.wgsl', [
  ['rows', 'u32'],
  ['vocab', 'u32'],
  ['grid_x', 'u32'],
] as const);

export const ARGMAX_PARAMS = uniformLayout('argmax', 'argmax.wgsl', [
  ['rows', 'u32'],
  ['vocab', 'u32'],
  ['grid_x', 'u32'],
] as const);

export const SOFTMAX_PARAMS = uniformLayout('softmax', 'softmax.wgsl', [
  ['rows', 'u32'],
  ['n', 'u32'],
  ['inv_temperature', 'f32'],
  ['grid_x', 'u32'],
] as const);

/** Largest vocabulary the sampler takes: row masses (vocab * 2^32) must stay below 2^52. */
export const MAX_SAMPLE_VOCAB = 2 ** 20;

export interface SamplingRow {
  /** 0 = greedy (argmax) */
  temperature: number;
  /** keep the k most likely tokens; 0 = off */
  topK: number;
  /** keep the smallest most-likely set whose probability mass >= topP; 1 = off */
  topP: number;
  /** drop tokens with p < minP * p_max; 0 = off */
  minP: number;
  /** uniform in [0, 1), drawn by the caller from a seeded generator */
  random: number;
}

/**
 * Pack rows of sampling parameters as the kernel reads them: [B, 8] f32, per row temperature, f32(1 / temperature)
 * (0 when greedy), topK, topP, minP, random, then two reserved zeros (see SAMPLING_PARAM).
 */
export function writeSamplingParams(rows: readonly SamplingRow[]): Float32Array {
  const out = new Float32Array(rows.length * SAMPLING_PARAMS_STRIDE);
  rows.forEach((r, i) => {
    const bad = (what: string) => {
      throw new KernelArgumentError('sample', `rows[${i}].${what}`);
    };
    if (!(r.temperature >= 0) || !Number.isFinite(r.temperature))
      bad(`temperature must be a finite number >= 0, got ${r.temperature}`);
    if (r.temperature > 0 && !(Math.fround(1 / r.temperature) < Number.POSITIVE_INFINITY))
      bad(`temperature ${r.temperature} is too small for f32 (use 0 for greedy)`);
    if (!Number.isInteger(r.topK) || r.topK < 0 || r.topK > 2 ** 24)
      bad(`topK must be an integer in [0, 2^24], got ${r.topK}`);
    if (!(r.topP >= 0 && r.topP <= 1)) bad(`topP must be in [0, 1], got ${r.topP}`);
    if (!(r.minP >= 0 && r.minP <= 1)) bad(`minP must be in [0, 1], got ${r.minP}`);
    if (!(r.random >= 0 && r.random < 1)) bad(`random must be in [0, 1), got ${r.random}`);
    const row = out.subarray(i * SAMPLING_PARAMS_STRIDE, (i + 1) * SAMPLING_PARAMS_STRIDE);
    row[SAMPLING_PARAM.temperature] = r.temperature;
    row[SAMPLING_PARAM.invTemperature] = r.temperature > 0 ? 1 / r.temperature : 0;
    row[SAMPLING_PARAM.topK] = r.topK;
    row[SAMPLING_PARAM.topP] = r.topP;
    row[SAMPLING_PARAM.minP] = r.minP;
    row[SAMPLING_PARAM.random] = Math.min(Math.fround(r.random), 1 - 2 ** -24); // f32 rounding must not reach 1
  });
  return out;
}

/** Workgroup bytes of sample.wgsl besides its window: 5 histograms of 512 words, chunk prefixes, atomics, Ctl. */
const SAMPLE_FIXED_BYTES = 5 * 512 * 4 + 257 * 8 + 8 * 4 + 256;

/** The largest window (a power of two, >= 256, <= 2048) that fits the device's workgroup memory. */
function sampleWindow(step: Step): number {
  const limit = step.gpu.limits.maxComputeWorkgroupStorageSize;
  let cap = 2048;
  while (cap > 256 && SAMPLE_FIXED_BYTES + 8 * cap > limit) cap /= 2;
  expect(
    'sample',
    SAMPLE_FIXED_BYTES + 8 * cap <= limit,
    () => `needs ${SAMPLE_FIXED_BYTES + 8 * cap} bytes of workgroup memory, the device has ${limit}`,
  );
  return cap;
}

export interface SampleArgs {
  /** f32 [B, V] */
  logits: Tensor;
  /** f32 [B, 8], from writeSamplingParams */
  params: Tensor;
  /** u32 [B] */
  out: Tensor;
}

export function sample(step: Step, a: SampleArgs): void {
  const kernel = 'sample';
  expectTensor(kernel, 'logits', a.logits, 'f32', ['B', 'V']);
  const [rows, vocab] = a.logits.shape;
  expect(
    kernel,
    vocab >= 1 && vocab <= MAX_SAMPLE_VOCAB,
    () => `vocab must be in [1, ${MAX_SAMPLE_VOCAB}], got ${vocab}`,
  );
  expectTensor(kernel, 'params', a.params, 'f32', [rows, SAMPLING_PARAMS_STRIDE]);
  expectTensor(kernel, 'out', a.out, 'u32', [rows]);
  expectDistinct(kernel, { logits: a.logits, params: a.params, out: a.out });
  const [gx, gy] = grid(rows, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'sample.wgsl',
      libs: ['sample_keys.wgsl', 'sample_u64.wgsl', 'sample_plan.wgsl'],
      constants: { CAP: sampleWindow(step) },
    }),
    uniforms: SAMPLE_PARAMS.pack({ rows, vocab, grid_x: gx }),
    bindings: [a.logits, a.params, a.out],
    workgroups: [gx, gy],
  });
}

export interface ArgmaxArgs {
  /** f32 [B, V] */
  logits: Tensor;
  /** u32 [B] */
  out: Tensor;
}

export function argmax(step: Step, a: ArgmaxArgs): void {
  const kernel = 'argmax';
  expectTensor(kernel, 'logits', a.logits, 'f32', ['B', 'V']);
  const [rows, vocab] = a.logits.shape;
  expect(kernel, vocab >= 1, () => `vocab must be >= 1, got ${vocab}`);
  expectTensor(kernel, 'out', a.out, 'u32', [rows]);
  expectDistinct(kernel, { logits: a.logits, out: a.out });
  const wg = Math.min(256, Math.max(32, nextPowerOfTwo(Math.ceil(vocab / 4))));
  const [gx, gy] = grid(rows, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'argmax.wgsl',
      libs: ['sample_keys.wgsl'],
      constants: { WG: wg },
    }),
    uniforms: ARGMAX_PARAMS.pack({ rows, vocab, grid_x: gx }),
    bindings: [a.logits, a.out],
    workgroups: [gx, gy],
  });
}

export interface SoftmaxArgs {
  /** f32 [B, V] */
  x: Tensor;
  /** f32 [B, V] */
  out: Tensor;
  /** softmax(x / temperature); default 1 */
  temperature?: number;
}

export function softmax(step: Step, a: SoftmaxArgs): void {
  const kernel = 'softmax';
  expectTensor(kernel, 'x', a.x, 'f32', ['B', 'V']);
  const [rows, n] = a.x.shape;
  expectTensor(kernel, 'out', a.out, 'f32', [rows, n]);
  expectDistinct(kernel, { x: a.x, out: a.out });
  const temperature = a.temperature ?? 1;
  const inv = Math.fround(1 / temperature);
  expect(
    kernel,
    temperature > 0 && Number.isFinite(temperature) && inv < Number.POSITIVE_INFINITY,
    () => `temperature must be a positive number, got ${temperature}`,
  );
  const wg = Math.min(256, Math.max(32, nextPowerOfTwo(Math.ceil(n / 4))));
  const [gx, gy] = grid(rows, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({ kernel, file: 'softmax.wgsl', constants: { WG: wg } }),
    uniforms: SOFTMAX_PARAMS.pack({ rows, n, inv_temperature: inv, grid_x: gx }),
    bindings: [a.x, a.out],
    workgroups: [gx, gy],
  });
}
