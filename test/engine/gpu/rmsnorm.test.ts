import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLOAT_DTYPES, roundToDType } from '../../../engine/gpu/dtype.ts';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import { rmsnorm } from '../../../engine/gpu/kernels/rmsnorm.ts';
import { rmsnorm as rmsnormRef } from '../../../engine/reference/rmsnorm.ts';
import { assertClose, TOL } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

describe('rmsnorm kernel matches its twin', () => {
  it('on 24 random shapes, all weight dtypes, with and without the residual add', async () => {
    const gpu = await testGpu();
    const rng = new Rng(1234);
    for (let trial = 0; trial < 24; trial++) {
      const rows = rng.pick([1, 2, 3, 7, 17, 64]);
      const n = rng.pick([1, 2, 3, 64, 80, 127, 896, 1000, 2048, 4099]);
      const dtype = FLOAT_DTYPES[trial % 3];
      const n2 = dtype === 'f32' ? n : n + (n % 2); // 16-bit rows are whole u32 words
      const fused = trial % 2 === 1;
      const weightOffset = trial % 5 === 0 ? 1 : 0;
      const x = rng.normals(rows * n2, 2);
      const w = roundToDType(rng.normals(n2, 0.5), dtype);
      const res = rng.normals(rows * n2);
      const tx = gpu.upload('f32', [rows, n2], x, 'x');
      const tw = gpu.upload(dtype, [n2], w, 'w');
      const out = gpu.createTensor('f32', [rows, n2], 'out');
      const tr = gpu.upload('f32', [rows, n2], res, 'res');
      const rout = gpu.createTensor('f32', [rows, n2], 'res_out');
      const step = gpu.step('rmsnorm test');
      rmsnorm(step, {
        x: tx,
        weight: tw,
        out,
        eps: 1e-6,
        weightOffset,
        ...(fused ? { residual: tr, residualOut: rout } : {}),
      });
      await step.submit();
      const ref = rmsnormRef(x, w, rows, n2, 1e-6, { weightOffset, ...(fused ? { residual: res } : {}) });
      const what = `seed 1234 trial ${trial}: rows=${rows} n=${n2} ${dtype}${fused ? ' +residual' : ''}`;
      assertClose(await gpu.read(out), ref.out, { rtol: 2e-5, atol: 1e-5 }, what);
      if (fused) assertClose(await gpu.read(rout), ref.residualOut!, TOL.f32, `${what} residual_out`);
      for (const t of [tx, tw, out, tr, rout]) t.buffer.destroy();
    }
  });

  it('rejects a bad shape or dtype at once, naming the kernel, the expectation and the value', async () => {
    const gpu = await testGpu();
    const x = gpu.createTensor('f32', [4, 8], 'x');
    const out = gpu.createTensor('f32', [4, 8], 'out');
    const step = gpu.step('bad');
    assert.throws(
      () => rmsnorm(step, { x, weight: gpu.createTensor('f32', [7], 'w'), out, eps: 1e-6 }),
      (e: Error) =>
        e instanceof KernelArgumentError &&
        /^rmsnorm: weight must be f32\|f16\|bf16\[8\], got f32\[7\]$/.test(e.message),
    );
    assert.throws(
      () =>
        rmsnorm(step, {
          x: gpu.createTensor('f16', [4, 8], 'xh'),
          weight: gpu.createTensor('f32', [8], 'w'),
          out,
          eps: 1e-6,
        }),
      /rmsnorm: x must be f32\[rows, n\], got f16\[4, 8\]/,
    );
    assert.throws(
      () => rmsnorm(step, { x, weight: gpu.createTensor('f32', [8], 'w'), out: x, eps: 1e-6 }),
      /rmsnorm: out and x share a buffer/,
    );
  });
});
