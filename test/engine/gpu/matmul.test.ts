import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FLOAT_DTYPES, type FloatDType, roundToDType } from '../../../engine/gpu/dtype.ts';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import { Gpu } from '../../../engine/gpu/gpu.ts';
import { type MatmulArgs, matmul, matmulTiled, matvec } from '../../../engine/gpu/kernels/matmul.ts';
import type { Step } from '../../../engine/gpu/step.ts';
import { matmul as matmulRef } from '../../../engine/reference/matmul.ts';
import { assertClose, TOL } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

type Launcher = (step: Step, a: MatmulArgs) => void;

interface Case {
  m: number;
  n: number;
  k: number;
  dtype: FloatDType;
  /** dtype of the bias, or none */
  bias?: FloatDType;
}

/**
 * Run one shape through `launch` and compare with the twin on the same dtype-rounded weights. The kernels sum in
 * f32, the twin in double: for K <= 898 products of N(0, 1) values the f32 rounding stays near 1e-6 of the largest
 * output (measured <= 1e-6), so TOL.f32 (1e-5 of max |expected|) holds with a 10x margin.
 */
async function check(gpu: Gpu, rng: Rng, launch: Launcher, c: Case, what: string): Promise<void> {
  const x = rng.normals(c.m * c.k);
  const w = roundToDType(rng.normals(c.n * c.k), c.dtype);
  const b = c.bias ? roundToDType(rng.normals(c.n), c.bias) : undefined;
  const t = {
    x: gpu.upload('f32', [c.m, c.k], x, 'x'),
    weight: gpu.upload(c.dtype, [c.n, c.k], w, 'w'),
    out: gpu.createTensor('f32', [c.m, c.n], 'out'),
    ...(c.bias && b ? { bias: gpu.upload(c.bias, [c.n], b, 'bias') } : {}),
  };
  try {
    const step = gpu.step('matmul test');
    launch(step, t);
    await step.submit();
    const label = `${what}: M=${c.m} N=${c.n} K=${c.k} ${c.dtype}${c.bias ? ` +bias ${c.bias}` : ''}`;
    assertClose(await gpu.read(t.out), matmulRef(x, w, b, c.m, c.n, c.k), TOL.f32, label);
  } finally {
    for (const tensor of Object.values(t)) tensor.buffer.destroy();
  }
}

/** Ks the brief calls awkward; f32 also gets odd K (16-bit weights are read in pairs, so their K is even). */
const K_16BIT = [2, 6, 66, 130, 898];
const K_F32 = [1, 3, 7, 2, 6, 66, 130, 898];

function randomCase(rng: Rng, trial: number, ms: readonly number[], ns: readonly number[]): Case {
  const dtype = FLOAT_DTYPES[trial % 3];
  const ks = dtype === 'f32' ? K_F32 : K_16BIT;
  return {
    m: rng.pick(ms),
    n: rng.pick(ns),
    k: ks[Math.floor(trial / 3) % ks.length],
    dtype,
    ...(trial % 2 === 1 ? { bias: rng.pick(FLOAT_DTYPES) } : {}),
  };
}

const DECODE_M = [1, 2, 3, 5, 8];
const NS = [1, 3, 37, 64, 257, 300];

describe('matmul kernels match their twin', () => {
  let noSubgroups: Gpu | null = null;
  after(() => noSubgroups?.destroy());

  it('matvec, subgroup variant: 24 random shapes, all dtypes, with and without bias', async () => {
    const gpu = await testGpu();
    assert.ok(gpu.features.subgroups, 'SwiftShader offers subgroups; the subgroup variant must be tested');
    const rng = new Rng(101);
    for (let trial = 0; trial < 24; trial++) {
      const c = randomCase(rng, trial, DECODE_M, NS);
      await check(gpu, rng, (s, a) => matvec(s, a, { subgroups: true }), c, `seed 101 trial ${trial} matvec`);
    }
  });

  it('matvec on a device without subgroups: 24 random shapes, all dtypes, with and without bias', async () => {
    noSubgroups = await Gpu.create({ software: true, disableFeatures: ['subgroups'] });
    assert.equal(noSubgroups.features.subgroups, false);
    const rng = new Rng(202);
    for (let trial = 0; trial < 24; trial++) {
      const c = randomCase(rng, trial, DECODE_M, NS);
      await check(noSubgroups, rng, matvec, c, `seed 202 trial ${trial} matvec (no subgroups)`);
    }
  });

  it('tiled: 24 random shapes, all dtypes, with and without bias, ragged tiles', async () => {
    const gpu = await testGpu();
    const rng = new Rng(303);
    for (let trial = 0; trial < 24; trial++) {
      const c = randomCase(rng, trial, [1, 2, 3, 5, 17, 64, 70], [1, 3, 65, 130, 257]);
      await check(gpu, rng, matmulTiled, c, `seed 303 trial ${trial} tiled`);
    }
  });

  it('matmul() gives the same answer on every path: matvec, matvec in row chunks, tiled', async () => {
    const gpu = await testGpu();
    const rng = new Rng(404);
    // n = 96: row chunks bind at aligned offsets (chunked matvec up to 32 rows); n = 97: they would not (tiled).
    for (const [m, n] of [
      [1, 96],
      [4, 96],
      [8, 96],
      [9, 96],
      [16, 96],
      [17, 96],
      [32, 96],
      [33, 96],
      [40, 96],
      [16, 97],
    ]) {
      await check(gpu, rng, matmul, { m, n, k: 128, dtype: 'bf16', bias: 'bf16' }, `seed 404 matmul m=${m} n=${n}`);
    }
  });

  it('matvec with more than 65,535 workgroups folds its grid into 2-D (N > 65,535 x rows per workgroup)', async () => {
    const gpu = await testGpu();
    const rng = new Rng(505);
    // 4 rows per workgroup and tiny workgroups keep this quick: 262,145 rows -> 65,537 workgroups.
    const n = 65_535 * 4 + 5;
    const folded: [string, Launcher][] = [
      ['subgroups', (s, a) => matvec(s, a, { subgroups: true, rows: 4, workgroupSize: 4 })],
      ['no subgroups', (s, a) => matvec(s, a, { subgroups: false, threadsPerRow: 4, workgroupSize: 4 })],
    ];
    for (const [variant, launch] of folded) {
      await check(gpu, rng, launch, { m: 2, n, k: 2, dtype: 'f16', bias: 'f32' }, `seed 505 2-D grid, ${variant}`);
    }
  });

  it('rejects bad shapes, dtypes and parameters at once, naming the kernel, the expectation and the value', async () => {
    const gpu = await testGpu();
    const x = gpu.createTensor('f32', [2, 6], 'x');
    const w = gpu.createTensor('f16', [5, 6], 'w');
    const out = gpu.createTensor('f32', [2, 5], 'out');
    const step = gpu.step('bad');
    const fails = (f: () => void, message: RegExp) =>
      assert.throws(f, (e: Error) => e instanceof KernelArgumentError && message.test(e.message), message.source);
    fails(
      () => matmul(step, { x, weight: gpu.createTensor('f16', [5, 4], 'w4'), out }),
      /^matvec: weight must be f32\|f16\|bf16\[N, 6\], got f16\[5, 4\]$/,
    );
    fails(
      () => matmul(step, { x: gpu.createTensor('bf16', [2, 6], 'xb'), weight: w, out }),
      /^matvec: x must be f32\[M, K\], got bf16\[2, 6\]$/,
    );
    fails(
      () => matmulTiled(step, { x, weight: w, out: gpu.createTensor('f32', [2, 4], 'o') }),
      /^matmul_tiled: out must be f32\[2, 5\], got f32\[2, 4\]$/,
    );
    fails(
      () => matvec(step, { x, weight: w, bias: gpu.createTensor('f32', [6], 'b'), out }),
      /^matvec: bias must be f32\|f16\|bf16\[5\], got f32\[6\]$/,
    );
    const x3 = gpu.createTensor('f32', [2, 3], 'x3');
    fails(
      () => matmul(step, { x: x3, weight: gpu.createTensor('bf16', [5, 3], 'w3'), out }),
      /^matvec: K must be even for bf16 weights \(packed in pairs\), got K=3$/,
    );
    fails(
      () =>
        matvec(step, {
          x: gpu.createTensor('f32', [9, 6], 'x9'),
          weight: w,
          out: gpu.createTensor('f32', [9, 5], 'o9'),
        }),
      /^matvec: M must be <= 8 for matvec, got M=9/,
    );
    fails(() => matmul(step, { x, weight: w, out: x }), /^matvec: out must be f32\[2, 5\], got f32\[2, 6\]$/);
    const square = gpu.createTensor('f32', [2, 2], 'sq');
    fails(
      () => matmul(step, { x: square, weight: gpu.createTensor('f32', [2, 2], 'w2'), out: square }),
      /^matvec: x and out share a buffer/,
    );
    fails(
      () => matvec(step, { x, weight: w, out }, { subgroups: false, threadsPerRow: 12 }),
      /^matvec: threadsPerRow must be a power of two in \[4, 64\], got 12$/,
    );
    assert.equal(step.dispatchCount, 0);
  });
});
