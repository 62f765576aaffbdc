import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import {
  argmax,
  type SamplingRow,
  sample,
  softmax,
  writeSamplingParams,
} from '../../../engine/gpu/kernels/sampling.ts';
import {
  argmax as argmaxRef,
  readPackedRow,
  sample as sampleRef,
  samplingDistribution,
  softmax as softmaxRef,
} from '../../../engine/reference/sampling.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

/**
 * Logits the GPU and the twin must agree on exactly: a random permutation of evenly spaced values plus noise under a
 * tenth of the spacing, so no two are close enough for the GPU's exp rounding to reorder masses around a threshold.
 */
function spacedLogits(rng: Rng, vocab: number, spread: number): Float32Array {
  const perm = Array.from({ length: vocab }, (_, i) => i);
  for (let i = vocab - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const step = spread / Math.max(vocab, 1);
  return Float32Array.from(perm, (v) => (v - vocab / 2) * step + (rng.next() - 0.5) * 0.1 * step);
}

async function runSample(gpu: Gpu, logits: Float32Array, rows: number, vocab: number, params: Float32Array) {
  const tl = gpu.upload('f32', [rows, vocab], logits, 'logits');
  const tp = gpu.upload('f32', [rows, 8], params, 'params');
  const out = gpu.createTensor('u32', [rows], 'tokens');
  const step = gpu.step('sample test');
  sample(step, { logits: tl, params: tp, out });
  await step.submit();
  const tokens = await gpu.readInts(out);
  for (const t of [tl, tp, out]) t.buffer.destroy();
  return tokens;
}

/** Kernel vs twin, row by row, with the row's parameters in the message. */
async function expectSameTokens(
  gpu: Gpu,
  logits: Float32Array,
  vocab: number,
  rows: SamplingRow[],
  what: string,
): Promise<void> {
  const params = writeSamplingParams(rows);
  const got = await runSample(gpu, logits, rows.length, vocab, params);
  const want = sampleRef(logits, rows.length, vocab, params);
  for (let r = 0; r < rows.length; r++) {
    assert.equal(got[r], want[r], `${what}: row ${r} ${JSON.stringify(rows[r])}: GPU drew ${got[r]}, twin ${want[r]}`);
  }
}

const CONFIGS: Omit<SamplingRow, 'random'>[] = [
  { temperature: 0, topK: 0, topP: 1, minP: 0 }, // greedy
  { temperature: 1, topK: 0, topP: 1, minP: 0 }, // pure temperature
  { temperature: 0.7, topK: 20, topP: 1, minP: 0 }, // top-k only
  { temperature: 1, topK: 0, topP: 0.9, minP: 0 }, // top-p only
  { temperature: 1.5, topK: 0, topP: 1, minP: 0.05 }, // min-p only
  { temperature: 0.7, topK: 20, topP: 0.8, minP: 0 }, // Qwen2.5's defaults
  { temperature: 0.6, topK: 50, topP: 0.95, minP: 0.01 }, // all three
  { temperature: 2, topK: 3000, topP: 0.99, minP: 0 }, // k larger than the window
  { temperature: 1, topK: 1, topP: 1, minP: 0 },
  { temperature: 1, topK: 0, topP: 0, minP: 0 }, // top-p 0 keeps the top token
  { temperature: 1, topK: 0, topP: 1, minP: 1 }, // min-p 1 keeps the top token
  { temperature: 0.3, topK: 100000, topP: 0.5, minP: 0 }, // k >= V
];

describe('sample kernel matches its twin', () => {
  it('on 24 random shapes and configs (greedy, top-k, top-p, min-p, combinations; odd V)', async () => {
    const gpu = await testGpu();
    const rng = new Rng(31337);
    for (let trial = 0; trial < 24; trial++) {
      const vocab = rng.pick([1, 2, 7, 255, 256, 257, 1000, 3001, 5003, 20011]);
      const spread = rng.pick([3, 10, 30]);
      const batch = rng.int(1, 4);
      const logits = new Float32Array(batch * vocab);
      for (let r = 0; r < batch; r++) logits.set(spacedLogits(rng, vocab, spread), r * vocab);
      if (trial % 6 === 5) {
        // Structured-output masks: a third of the vocabulary at -inf (never row 0's whole row).
        for (let i = 1; i < logits.length; i++) if (rng.next() < 0.33) logits[i] = Number.NEGATIVE_INFINITY;
      }
      const rows = Array.from({ length: batch }, (_, r) => ({
        ...CONFIGS[(trial + 5 * r) % CONFIGS.length],
        random: r === 0 && trial % 8 === 3 ? 0 : r === 0 && trial % 8 === 7 ? 1 - 1e-9 : rng.next(),
      }));
      await expectSameTokens(gpu, logits, vocab, rows, `seed 31337 trial ${trial}: V=${vocab} spread ${spread}`);
    }
  });

  it('through the slow paths: buckets beyond the window, ties ordered by index, masks, NaN and +inf', async () => {
    const gpu = await testGpu();
    const rng = new Rng(2024);
    // One far outlier stretches the level-0 bins so the other 30k land ~3k to a bin: more than the window holds,
    // so finds narrow by rank-key bits. Pure sampling draws in that bulk.
    const vocab = 30000;
    const bulk = spacedLogits(rng, vocab, 2);
    bulk[123] = -50;
    const rows: SamplingRow[] = [
      { temperature: 1, topK: 0, topP: 1, minP: 0, random: 0.37 },
      { temperature: 1, topK: 5000, topP: 1, minP: 0, random: 0.81 },
      { temperature: 1, topK: 0, topP: 0.5, minP: 0, random: 0.64 },
    ];
    const logits = new Float32Array(rows.length * vocab);
    for (let r = 0; r < rows.length; r++) logits.set(bulk, r * vocab);
    await expectSameTokens(gpu, logits, vocab, rows, 'wide bins');

    // 6000 exactly tied logits at the top: ranks inside the tie follow the index, split by index bits.
    const tied = spacedLogits(rng, 8000, 20);
    for (let i = 0; i < 8000; i++) if (i % 4 !== 1) tied[i] = 25;
    const tieRows: SamplingRow[] = [
      { temperature: 1, topK: 0, topP: 1, minP: 0, random: 0.5 },
      { temperature: 1, topK: 3000, topP: 1, minP: 0, random: 0.99 },
      { temperature: 1, topK: 0, topP: 0.3, minP: 0, random: 0.7 },
      { temperature: 1, topK: 0, topP: 1, minP: 0.5, random: 0.123 },
    ];
    const tiedRows = new Float32Array(tieRows.length * 8000);
    for (let r = 0; r < tieRows.length; r++) tiedRows.set(tied, r * 8000);
    await expectSameTokens(gpu, tiedRows, 8000, tieRows, 'ties');

    // Masked rows: all but 7 tokens at -inf with top-k 50 (the k-th rank falls in the -inf tie); an all -inf row
    // (the argmax, index 0); NaN counts as -inf and +inf as the largest f32.
    const masked = new Float32Array(3 * 1000).fill(Number.NEGATIVE_INFINITY);
    for (const i of [3, 99, 500, 501, 640, 777, 998]) masked[i] = rng.normal();
    masked.fill(Number.NaN, 2000, 2500);
    masked[2700] = Number.POSITIVE_INFINITY;
    masked[2800] = 3e38;
    for (let i = 2500; i < 3000; i++) if (i !== 2700 && i !== 2800) masked[i] = rng.normal() * 5;
    const maskRows: SamplingRow[] = [
      { temperature: 1, topK: 50, topP: 1, minP: 0, random: 0.6 },
      { temperature: 1, topK: 0, topP: 0.9, minP: 0, random: 0.3 },
      { temperature: 1, topK: 0, topP: 1, minP: 0, random: 0.3 },
    ];
    masked.fill(Number.NEGATIVE_INFINITY, 1000, 2000);
    await expectSameTokens(gpu, masked, 1000, maskRows, 'masked');
    const got = await runSample(gpu, masked, 3, 1000, writeSamplingParams(maskRows));
    assert.equal(got[1], 0, 'an all -inf row gives the argmax, index 0');
  });

  it('at V = 151,936 (Qwen2.5), pure temperature and top-k/top-p', async () => {
    const gpu = await testGpu();
    const rng = new Rng(151936);
    const vocab = 151936;
    const rows: SamplingRow[] = [
      { temperature: 1, topK: 0, topP: 1, minP: 0, random: rng.next() },
      { temperature: 0.7, topK: 20, topP: 0.8, minP: 0, random: rng.next() },
    ];
    const logits = new Float32Array(rows.length * vocab);
    for (let r = 0; r < rows.length; r++) logits.set(spacedLogits(rng, vocab, 40), r * vocab);
    await expectSameTokens(gpu, logits, vocab, rows, 'V=151936');
  });

  it('draws with the softmax probabilities at temperature 1 (chi-square over 800 draws)', async () => {
    const gpu = await testGpu();
    const rng = new Rng(99);
    const vocab = 6;
    const row = Float32Array.from([1.0, 0.2, -0.5, 2.0, 0.9, -1.0]); // every expected count >= 20
    const draws = 800; // one row per draw; SwiftShader spends a few ms per workgroup
    const logits = new Float32Array(draws * vocab);
    for (let r = 0; r < draws; r++) logits.set(row, r * vocab);
    const rows = Array.from({ length: draws }, () => ({
      temperature: 1,
      topK: 0,
      topP: 1,
      minP: 0,
      random: rng.next(),
    }));
    const tokens = await runSample(gpu, logits, draws, vocab, writeSamplingParams(rows));
    const counts = new Array<number>(vocab).fill(0);
    for (const t of tokens) counts[t]++;
    const expected = softmaxRef(row, 1, vocab); // f64 softmax, independent of the integer masses
    let chi2 = 0;
    for (let i = 0; i < vocab; i++) chi2 += (counts[i] - draws * expected[i]) ** 2 / (draws * expected[i]);
    // 5 degrees of freedom: P(chi2 > 20.5) = 0.001.
    assert.ok(
      chi2 < 20.5,
      `chi2 = ${chi2.toFixed(2)}; counts ${counts} vs expected ${Array.from(expected, (p) => (p * draws).toFixed(1))}`,
    );
    // And the kept-set definition at temperature 1 with nothing cut is the whole softmax, to 2^-32 per token.
    const d = samplingDistribution(row, readPackedRow(writeSamplingParams([{ ...rows[0] }]), 0));
    for (let j = 0; j < d.tokens.length; j++) {
      assert.ok(Math.abs(d.mass[j] / d.total - expected[d.tokens[j]]) < 1e-7, `token ${d.tokens[j]}`);
    }
  });
});

describe('argmax kernel matches its twin', () => {
  it('on 22 random shapes, with ties (lowest index wins), NaN and -inf', async () => {
    const gpu = await testGpu();
    const rng = new Rng(55);
    for (let trial = 0; trial < 22; trial++) {
      const rows = rng.pick([1, 2, 3, 16]);
      const vocab = rng.pick([1, 2, 31, 255, 256, 257, 1000, 4099, 32000]);
      const logits = rng.normals(rows * vocab, 4);
      if (trial % 3 === 0) for (let i = 0; i < logits.length; i++) logits[i] = Math.round(logits[i]); // many ties
      if (trial % 4 === 1) for (let i = 0; i < logits.length; i += 7) logits[i] = Number.NaN;
      if (trial % 5 === 2) for (let i = 0; i < logits.length; i += 3) logits[i] = Number.NEGATIVE_INFINITY;
      const tl = gpu.upload('f32', [rows, vocab], logits, 'logits');
      const out = gpu.createTensor('u32', [rows], 'out');
      const step = gpu.step('argmax test');
      argmax(step, { logits: tl, out });
      await step.submit();
      assert.deepEqual(
        await gpu.readInts(out),
        argmaxRef(logits, rows, vocab),
        `seed 55 trial ${trial}: ${rows}x${vocab}`,
      );
      for (const t of [tl, out]) t.buffer.destroy();
    }
  });
});

describe('softmax kernel matches its twin', () => {
  it('on 20 random shapes and temperatures, with -inf masks', async () => {
    const gpu = await testGpu();
    const rng = new Rng(77);
    for (let trial = 0; trial < 20; trial++) {
      const rows = rng.pick([1, 2, 5]);
      const vocab = rng.pick([1, 3, 64, 255, 1000, 5000, 32000]);
      const temperature = rng.pick([0.25, 0.7, 1, 1.5]);
      const x = rng.normals(rows * vocab, 5);
      if (trial % 4 === 3) for (let i = 0; i < x.length; i += 2) x[i] = Number.NEGATIVE_INFINITY;
      const tx = gpu.upload('f32', [rows, vocab], x, 'x');
      const out = gpu.createTensor('f32', [rows, vocab], 'out');
      const step = gpu.step('softmax test');
      softmax(step, { x: tx, out, temperature });
      await step.submit();
      // exp in f32 and a sum of up to 32k terms: 1e-5 of the largest probability, plus 1e-7 for the tiny ones.
      assertClose(
        await gpu.read(out),
        softmaxRef(x, rows, vocab, temperature),
        { rtol: 1e-5, atol: 1e-7 },
        `seed 77 trial ${trial}: ${rows}x${vocab} T=${temperature}`,
      );
      for (const t of [tx, out]) t.buffer.destroy();
    }
  });
});

describe('sampling launchers reject bad input', () => {
  it('names the kernel, the expectation and the value', async () => {
    const gpu = await testGpu();
    const step = gpu.step('bad');
    const logits = gpu.createTensor('f32', [2, 100], 'logits');
    const params = gpu.createTensor('f32', [2, 8], 'params');
    const out = gpu.createTensor('u32', [2], 'out');
    assert.throws(
      () => sample(step, { logits, params: gpu.createTensor('f32', [2, 4], 'p'), out }),
      (e: Error) =>
        e instanceof KernelArgumentError && /^sample: params must be f32\[2, 8\], got f32\[2, 4\]$/.test(e.message),
    );
    assert.throws(
      () => sample(step, { logits, params, out: gpu.createTensor('f32', [2], 'o') }),
      /sample: out must be u32\[2\], got f32\[2\]/,
    );
    assert.throws(
      () => argmax(step, { logits, out: gpu.createTensor('u32', [3], 'o') }),
      /argmax: out must be u32\[2\], got u32\[3\]/,
    );
    assert.throws(() => softmax(step, { x: logits, out: logits }), /softmax: out and x share a buffer/);
    assert.throws(
      () => softmax(step, { x: logits, out: gpu.createTensor('f32', [2, 100], 'o'), temperature: 0 }),
      /softmax: temperature must be a positive number, got 0/,
    );
    const row = { temperature: 1, topK: 0, topP: 1, minP: 0, random: 0.5 };
    assert.throws(
      () => writeSamplingParams([row, { ...row, topP: 1.5 }]),
      /sample: rows\[1\]\.topP must be in \[0, 1\], got 1.5/,
    );
    assert.throws(
      () => writeSamplingParams([{ ...row, random: 1 }]),
      /sample: rows\[0\]\.random must be in \[0, 1\), got 1/,
    );
    assert.throws(() => writeSamplingParams([{ ...row, topK: 2.5 }]), /sample: rows\[0\]\.topK must be an integer/);
    assert.throws(() => writeSamplingParams([{ ...row, temperature: -1 }]), /sample: rows\[0\]\.temperature must be/);
  });
});
