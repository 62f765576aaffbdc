/**
 * Launchers for the linear layers: out = x @ weight^T (+ bias) with f32, f16 or bf16 weights in Hugging Face nn.Linear
 * layout [N, K] and f32 accumulation, or quantized weights (q8_0, q4_0, q4_k, q5_k, q6_k: ggml blocks, dequantized in
 * registers by the weight library the pipeline is built with, lib/weights_<type>.wgsl). Decode (up to 8 activation
 * rows) runs shaders/matvec_subgroup.wgsl (one subgroup per 4 weight rows, no barriers) or, without `subgroups`,
 * shaders/matvec.wgsl (a workgroup-memory reduction); both stream each weight once and share every load across the
 * rows. Prefill runs shaders/matmul_tiled.wgsl: 64 x 64 output tiles staged through workgroup memory, 8 x 8 outputs per
 * thread.
 */

import { isQuantType, QUANT_BLOCKS } from '../../quant/types.ts';
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import { FLOAT_DTYPES, type FloatDType } from '../dtype.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';
import { matvecLibs, weightDTypes, weightsLibs } from './weights-lib.ts';

const MATVEC_FIELDS = [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['grid_x', 'u32'],
  ['bias_dtype', 'u32'],
] as const;

/** Both matvec variants take the same struct; each shader file has its layout so the layout test checks both. */
export const MATVEC_PARAMS = uniformLayout('matvec', 'matvec.wgsl', MATVEC_FIELDS);
export const MATVEC_SUBGROUP_PARAMS = uniformLayout('matvec', 'matvec_subgroup.wgsl', MATVEC_FIELDS);

export const MATMUL_TILED_PARAMS = uniformLayout('matmul_tiled', 'matmul_tiled.wgsl', [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['tiles_m', 'u32'],
  ['grid_x', 'u32'],
  ['bias_dtype', 'u32'],
] as const);

export interface MatmulArgs {
  /** f32 [M, K] activations */
  x: Tensor;
  /** f32|f16|bf16|quantized [N, K] (nn.Linear layout: out_features x in_features); K even for 16-bit, whole blocks
   * for quantized types. Not a split tensor: linear() (matmul-quant.ts) runs those part by part. */
  weight: Tensor;
  /** f32|f16|bf16 [N] (Qwen2 attention bias) */
  bias?: Tensor;
  /** f32 [M, N] = x @ weight^T (+ bias) */
  out: Tensor;
}

/** The most activation rows matvec takes: its per-thread accumulators are sized for 8. */
export const MATVEC_MAX_M = 8;

/** Up to this many rows matmul() picks matvec: decode is memory-bound and matvec reads the weights once, where the
 * tiled kernel would fill 64-row tiles with a few rows (on SwiftShader matvec at M = 8 is ~7x faster). */
export const MATVEC_THRESHOLD = 8;

const TILE = 64;
const BIAS_DTYPE: Record<FloatDType, number> = { f32: 0, f16: 1, bf16: 2 };

interface Shape {
  m: number;
  n: number;
  k: number;
}

function check(kernel: string, a: MatmulArgs): Shape {
  expectTensor(kernel, 'x', a.x, 'f32', ['M', 'K']);
  const [m, k] = a.x.shape;
  expectTensor(kernel, 'weight', a.weight, weightDTypes(a.weight), ['N', k]);
  const n = a.weight.shape[0];
  if (isQuantType(a.weight.dtype)) {
    const block = QUANT_BLOCKS[a.weight.dtype].blockElements;
    expect(kernel, k % block === 0, () => `K must be a multiple of ${block} for ${a.weight.dtype} weights, got K=${k}`);
  }
  if (a.bias) expectTensor(kernel, 'bias', a.bias, FLOAT_DTYPES, [n]);
  expectTensor(kernel, 'out', a.out, 'f32', [m, n]);
  expect(kernel, k >= 1 && n >= 1, () => `K and N must be >= 1, got weight ${a.weight.dtype}[${n}, ${k}]`);
  expect(
    kernel,
    a.weight.dtype === 'f32' || k % 2 === 0, // quantized rows are whole blocks: K is a multiple of 32
    () => `K must be even for ${a.weight.dtype} weights (packed in pairs), got K=${k}`,
  );
  // Shaders index elements with u32.
  expect(kernel, n * k < 2 ** 32 && m * k < 2 ** 32 && m * n < 2 ** 32, () => `M=${m}, N=${n}, K=${k} overflow u32`);
  expectDistinct(kernel, { out: a.out, x: a.x, weight: a.weight, bias: a.bias });
  return { m, n, k };
}

/** The shaders' code for the bias dtype (0 when there is none: the entry point without bias ignores it). */
function biasDType(a: MatmulArgs): number {
  return a.bias ? BIAS_DTYPE[a.bias.dtype as FloatDType] : 0;
}

function bindings(a: MatmulArgs): Tensor[] {
  return a.bias ? [a.x, a.weight, a.out, a.bias] : [a.x, a.weight, a.out];
}

/** Tuning knobs of matvec (tests and the bench set them; the defaults are what matmul() uses). */
export interface MatvecOptions {
  /** Use the subgroup variant (default: when the device has `subgroups`). */
  subgroups?: boolean;
  /** Workgroup size (a power of two <= 256). */
  workgroupSize?: number;
  /** Weight rows per workgroup, a multiple of 4 (subgroup variant). */
  rows?: number;
  /** Threads cooperating on 4 weight rows, a power of two in [4, workgroupSize] (variant without subgroups). */
  threadsPerRow?: number;
}

/** Defaults for the subgroup variant: enough rows per workgroup that every subgroup, of the smallest size the
 * adapter may pick, gets 4 rows (SwiftShader: 64 subgroups of 4), and at least 64 (8 warps of 32 take 8 rows each). */
function subgroupRows(step: Step, wg: number): number {
  const minSize = Math.max(4, step.gpu.features.subgroupMinSize);
  return Math.min(1024, Math.max(64, (4 * wg) / minSize));
}

/** out = x @ weight^T (+ bias) for M <= 8 activation rows (decode). */
export function matvec(step: Step, a: MatmulArgs, options: MatvecOptions = {}): void {
  const kernel = 'matvec';
  const { m, n, k } = check(kernel, a);
  expect(kernel, m <= MATVEC_MAX_M, () => `M must be <= ${MATVEC_MAX_M} for matvec, got M=${m} (use matmul)`);
  if (m === 0) return;
  const subgroups = options.subgroups ?? step.gpu.features.subgroups;
  expect(kernel, !subgroups || step.gpu.features.subgroups, () => 'the subgroup variant needs the subgroups feature');
  // Without subgroups the reduction needs barriers, which SwiftShader pays per thread of the workgroup: keep it
  // at 64 threads, 8 per row (a row's 8 threads still read 64 contiguous bytes of f16 per step on a GPU).
  const wg = options.workgroupSize ?? (subgroups ? 256 : 64);
  expect(kernel, wg <= 256 && (wg & (wg - 1)) === 0, () => `workgroupSize must be a power of two <= 256, got ${wg}`);
  const tpr = options.threadsPerRow ?? 8;
  const rows = subgroups ? (options.rows ?? subgroupRows(step, wg)) : (4 * wg) / tpr;
  if (subgroups) expect(kernel, rows >= 4 && rows % 4 === 0, () => `rows must be a multiple of 4, got ${rows}`);
  else
    expect(
      kernel,
      tpr >= 4 && tpr <= wg && (tpr & (tpr - 1)) === 0,
      () => `threadsPerRow must be a power of two in [4, ${wg}], got ${tpr}`,
    );
  const [gx, gy] = grid(Math.ceil(n / rows), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  const constants: Record<string, number> = {
    WG: wg,
    MR: m,
    VEC: k % 4 === 0 ? 4 : k % 2 === 0 ? 2 : 1,
  };
  if (subgroups) constants.ROWS = rows;
  else constants.TPR = tpr;
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: subgroups ? 'matvec_subgroup.wgsl' : 'matvec.wgsl',
      libs: matvecLibs(a.weight.dtype),
      enables: subgroups ? ['subgroups'] : [],
      entryPoint: a.bias ? 'main_bias' : 'main',
      constants,
    }),
    uniforms: (subgroups ? MATVEC_SUBGROUP_PARAMS : MATVEC_PARAMS).pack({
      m,
      n,
      k,
      grid_x: gx,
      bias_dtype: biasDType(a),
    }),
    bindings: bindings(a),
    workgroups: [gx, gy],
  });
}

/** Tuning knobs of the tiled kernel. */
export interface MatmulTiledOptions {
  /** Depth of a K step staged in workgroup memory (default 16, the fastest measured on SwiftShader). */
  bk?: 8 | 16 | 32;
}

/** out = x @ weight^T (+ bias) for any M (prefill): 64 x 64 output tiles. */
export function matmulTiled(step: Step, a: MatmulArgs, options: MatmulTiledOptions = {}): void {
  const kernel = 'matmul_tiled';
  const { m, n, k } = check(kernel, a);
  const bk = options.bk ?? 16;
  expect(kernel, bk === 8 || bk === 16 || bk === 32, () => `bk must be 8, 16 or 32, got ${bk}`);
  if (m === 0) return;
  const tilesM = Math.ceil(m / TILE);
  const [gx, gy] = grid(tilesM * Math.ceil(n / TILE), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'matmul_tiled.wgsl',
      libs: [...weightsLibs(a.weight.dtype), 'lib/bias.wgsl'],
      entryPoint: a.bias ? 'main_bias' : 'main',
      constants: {
        BK: bk,
        PAIRED: k % 2 === 0 ? 1 : 0,
      },
    }),
    uniforms: MATMUL_TILED_PARAMS.pack({ m, n, k, tiles_m: tilesM, grid_x: gx, bias_dtype: biasDType(a) }),
    bindings: bindings(a),
    workgroups: [gx, gy],
  });
}

/**
 * Up to this many rows, a batch of decode rows runs as matvec dispatches of MATVEC_MAX_M rows each (each re-reads
 * the weights) rather than the tiled kernel: a 64x64 output tile would be mostly empty at M = 16, and on SwiftShader
 * the tiled kernel took 650 ms where two matvec dispatches took ~60 ms for a 16-row LM head.
 */
export const MATVEC_CHUNKED_MAX_M = 32;

/** Byte offset bound with a tensor must be a multiple of this (minStorageBufferOffsetAlignment). */
const OFFSET_ALIGN = 256;

/** out = x @ weight^T (+ bias): matvec for decode-sized M (in chunks of rows), else the tiled kernel (prefill). */
export function matmul(step: Step, a: MatmulArgs): void {
  const m = a.x?.shape.length === 2 ? a.x.shape[0] : Number.POSITIVE_INFINITY;
  if (m <= MATVEC_THRESHOLD) matvec(step, a);
  else if (matvecChunksFit(a, m)) {
    const k = a.x.shape[1];
    const n = a.out.shape[1];
    for (let row = 0; row < m; row += MATVEC_MAX_M) {
      const rows = Math.min(MATVEC_MAX_M, m - row);
      matvec(step, {
        ...a,
        x: { ...a.x, shape: [rows, k], offset: a.x.offset + row * k * 4 },
        out: { ...a.out, shape: [rows, n], offset: a.out.offset + row * n * 4 },
      });
    }
  } else matmulTiled(step, a);
}

/** Whether M rows can run as matvec chunks: few enough, and every chunk's x and out bind at aligned offsets. */
function matvecChunksFit(a: MatmulArgs, m: number): boolean {
  if (m > MATVEC_CHUNKED_MAX_M || a.out?.shape.length !== 2) return false;
  const k = a.x.shape[1];
  const n = a.out.shape[1];
  const aligned = (offset: number) => offset % OFFSET_ALIGN === 0;
  return aligned(a.x.offset) && aligned(a.out.offset) && aligned(MATVEC_MAX_M * k * 4) && aligned(MATVEC_MAX_M * n * 4);
}
