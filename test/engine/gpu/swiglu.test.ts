import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import { swiglu } from '../../../engine/gpu/kernels/swiglu.ts';
import { swigluFused as swigluFusedRef, swiglu as swigluRef } from '../../../engine/reference/swiglu.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

// One exp and a few products per element: the GPU's exp is within a few ulp, so 1e-5 of max |expected| is ample.
const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('swiglu kernel matches its twin', () => {
  it('on 24 random shapes, separate gate/up and fused gate_up, including |gate| up to 100', async () => {
    const gpu = await testGpu();
    const rng = new Rng(4242);
    for (let trial = 0; trial < 24; trial++) {
      const rows = rng.pick([1, 2, 3, 5, 17, 64]);
      const cols = rng.pick([1, 3, 4, 7, 64, 255, 1000, 1025, 4864]);
      const fused = trial % 2 === 1;
      const gateScale = trial % 4 === 0 ? 40 : 3; // wide gates reach exp overflow territory on both sides
      const what = `seed 4242 trial ${trial}: ${rows}x${cols}${fused ? ' fused' : ''}`;
      const out = gpu.createTensor('f32', [rows, cols], 'out');
      const step = gpu.step('swiglu test');
      let expected: Float32Array;
      const tensors: { buffer: GPUBuffer }[] = [out];
      if (fused) {
        const gateUp = rng.normals(rows * 2 * cols, 1);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) gateUp[r * 2 * cols + c] *= gateScale;
        const t = gpu.upload('f32', [rows, 2 * cols], gateUp, 'gate_up');
        tensors.push(t);
        swiglu(step, { gateUp: t, out });
        expected = swigluFusedRef(gateUp, rows, cols);
      } else {
        const gate = rng.normals(rows * cols, gateScale);
        const up = rng.normals(rows * cols, 1);
        const tg = gpu.upload('f32', [rows, cols], gate, 'gate');
        const tu = gpu.upload('f32', [rows, cols], up, 'up');
        tensors.push(tg, tu);
        swiglu(step, { gate: tg, up: tu, out });
        expected = swigluRef(gate, up, rows, cols);
      }
      await step.submit();
      assertClose(await gpu.read(out), expected, TOL, what);
      for (const t of tensors) t.buffer.destroy();
    }
  });

  it('rejects bad shapes and aliasing, naming the kernel', async () => {
    const gpu = await testGpu();
    const step = gpu.step('bad');
    const out = gpu.createTensor('f32', [4, 8], 'out');
    assert.throws(
      () => swiglu(step, { gateUp: gpu.createTensor('f32', [4, 8], 'gu'), out }),
      (e: Error) =>
        e instanceof KernelArgumentError && /^swiglu: gateUp must be f32\[4, 16\], got f32\[4, 8\]$/.test(e.message),
    );
    assert.throws(
      () => swiglu(step, { gate: gpu.createTensor('f16', [4, 8], 'g'), up: gpu.createTensor('f32', [4, 8], 'u'), out }),
      /swiglu: gate must be f32\[4, 8\], got f16\[4, 8\]/,
    );
    const g = gpu.createTensor('f32', [4, 8], 'g');
    assert.throws(
      () => swiglu(step, { gate: g, up: gpu.createTensor('f32', [4, 8], 'u'), out: g }),
      /swiglu: out and gate share a buffer/,
    );
  });
});
