import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import { rope } from '../../../engine/gpu/kernels/rope.ts';
import { type RopeConfig, ropeInverseFrequencies } from '../../../engine/model/rope-frequencies.ts';
import { rope as ropeRef } from '../../../engine/reference/rope.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

const LLAMA3_SCALING = {
  type: 'llama3',
  factor: 8,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192,
} as const;

// Each output is x0*cos - x1*sin. The shader reduces the f32 angle by pi/2 and evaluates cos/sin with polynomials to
// ~1e-7 absolute at any position below ~800k (the twin uses f64 Math.cos of the same f32 angle), so 1e-5 of max |x|
// is ample; builtin cos/sin would fail it (SwiftShader's are off by 2e-4).
const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('rope inverse frequencies follow transformers', () => {
  it('default: 1 / theta^(2i/dim) in f32', () => {
    const inv = ropeInverseFrequencies({ headDim: 64, theta: 10000, style: 'neox' });
    assert.equal(inv.length, 32);
    assert.equal(inv[0], 1);
    assert.ok(Math.abs(inv[16] - 10000 ** -0.5) < 1e-9, `inv[16] = ${inv[16]}`);
    assert.ok(Math.abs(inv[31] / 10000 ** (-62 / 64) - 1) < 1e-6, `inv[31] = ${inv[31]}`);
  });

  it('linear divides by the factor, partial rotary uses rotaryDim as dim', () => {
    const base = ropeInverseFrequencies({ headDim: 80, rotaryDim: 32, theta: 10000, style: 'neox' });
    const linear = ropeInverseFrequencies({
      headDim: 80,
      rotaryDim: 32,
      theta: 10000,
      style: 'neox',
      scaling: { type: 'linear', factor: 4 },
    });
    assert.equal(base.length, 16);
    for (let i = 0; i < 16; i++) assert.equal(linear[i], Math.fround(base[i] / 4));
    assert.ok(Math.abs(base[8] - 10000 ** -0.5) < 1e-9);
  });

  it('llama3 keeps high frequencies, divides low ones by factor and blends the middle (Llama-3.1-8B)', () => {
    const cfg: RopeConfig = { headDim: 128, theta: 500000, style: 'neox' };
    const base = ropeInverseFrequencies(cfg);
    const scaled = ropeInverseFrequencies({ ...cfg, scaling: LLAMA3_SCALING });
    let kept = 0;
    let divided = 0;
    let blended = 0;
    for (let i = 0; i < 64; i++) {
      const wavelen = (2 * Math.PI) / base[i];
      if (wavelen < 2048) {
        assert.equal(scaled[i], base[i]);
        kept++;
      } else if (wavelen > 8192) {
        assert.equal(scaled[i], Math.fround(base[i] / 8));
        divided++;
      } else {
        const smooth = (8192 / wavelen - 1) / 3;
        const expected = ((1 - smooth) * base[i]) / 8 + smooth * base[i];
        assert.ok(Math.abs(scaled[i] / expected - 1) < 1e-6, `i=${i}: ${scaled[i]} vs ${expected}`);
        assert.ok(scaled[i] < base[i] && scaled[i] > base[i] / 8);
        blended++;
      }
    }
    assert.ok(kept > 0 && divided > 0 && blended > 0, `${kept} kept, ${divided} divided, ${blended} blended`);
  });
});

describe('rope kernel matches its twin', () => {
  it('on 24 random shapes: both styles, no/linear/llama3 scaling, partial rotary, scattered positions', async () => {
    const gpu = await testGpu();
    const rng = new Rng(9001);
    for (let trial = 0; trial < 24; trial++) {
      const headDim = rng.pick([64, 80, 128]);
      const rotaryDim = trial % 3 === 2 ? rng.pick([16, 32, headDim / 2]) : headDim;
      const config: RopeConfig = {
        headDim,
        ...(rotaryDim !== headDim ? { rotaryDim } : {}),
        theta: rng.pick([10000, 500000, 1000000]),
        style: trial % 2 === 0 ? 'neox' : 'interleaved',
        ...(trial % 4 === 1 ? { scaling: { type: 'linear', factor: 4 } } : {}),
        ...(trial % 4 === 3 ? { scaling: LLAMA3_SCALING } : {}),
      } as RopeConfig;
      const tokens = rng.pick([1, 2, 5, 17, 64]);
      const heads = rng.pick([1, 2, 3, 14]);
      // Not contiguous: a mix of small and far positions (up to 200k, where naive sin/cos lose accuracy).
      const positions = Array.from({ length: tokens }, () =>
        rng.next() < 0.5 ? rng.int(0, 100) : rng.int(0, 200_000),
      );
      const x = rng.normals(tokens * heads * headDim);
      const tx = gpu.upload('f32', [tokens, heads, headDim], x, 'x');
      const tp = gpu.upload('u32', [tokens], positions, 'positions');
      const step = gpu.step('rope test');
      rope(step, { x: tx, positions: tp, config });
      await step.submit();
      const what = `seed 9001 trial ${trial}: ${tokens}x${heads}x${headDim} ${JSON.stringify(config)}`;
      assertClose(await gpu.read(tx), ropeRef(x, positions, heads, config), TOL, what);
      for (const t of [tx, tp]) t.buffer.destroy();
    }
  });

  it('rejects bad tensors and configs, naming the kernel', async () => {
    const gpu = await testGpu();
    const step = gpu.step('bad');
    const x = gpu.createTensor('f32', [3, 2, 64], 'x');
    const positions = gpu.createTensor('u32', [3], 'positions');
    const config: RopeConfig = { headDim: 64, theta: 10000, style: 'neox' };
    assert.throws(
      () => rope(step, { x, positions, config: { ...config, headDim: 128 } }),
      (e: Error) =>
        e instanceof KernelArgumentError &&
        /^rope: x must be f32\[T, heads, 128\], got f32\[3, 2, 64\]$/.test(e.message),
    );
    assert.throws(
      () => rope(step, { x, positions: gpu.createTensor('u32', [4], 'p'), config }),
      /rope: positions must be u32\[3\], got u32\[4\]/,
    );
    assert.throws(
      () => rope(step, { x, positions, config: { ...config, rotaryDim: 33 } }),
      /rope: bad config: rotaryDim/,
    );
    assert.throws(() => rope(step, { x, positions, config: { ...config, theta: 0 } }), /rope: bad config: theta/);
  });
});
