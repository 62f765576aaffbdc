import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { logprobs, logprobsWords, unpackLogprobs } from '../../../engine/gpu/kernels/logprobs.ts';
import { logprobs as logprobsRef } from '../../../engine/reference/logprobs.ts';
import type { TokenLogprob } from '../../../engine/serving/types.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

const NEG_INF = Number.NEGATIVE_INFINITY;
/** f32 ~1e-5 relative (style.md), against max(1, |expected|): a logprob near 0 is the difference of two large terms. */
const RTOL = 1e-5;

async function runLogprobs(
  gpu: Gpu,
  logits: Float32Array,
  rows: number,
  vocab: number,
  sampled: Uint32Array,
  n: number,
) {
  const tl = gpu.upload('f32', [rows, vocab], logits, 'logits');
  const ts = gpu.upload('u32', [rows], sampled, 'sampled');
  const out = gpu.createTensor('u32', [rows, logprobsWords(n)], 'logprobs');
  const step = gpu.step('logprobs test');
  logprobs(step, { logits: tl, sampled: ts, topN: n, out });
  const bytes = step.read(out);
  await step.submit();
  for (const t of [tl, ts, out]) t.buffer.destroy();
  return unpackLogprobs(await bytes, rows, n, sampled);
}

function closeLogprob(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= RTOL * Math.max(1, Math.abs(want));
}

function expectSame(got: TokenLogprob[], want: TokenLogprob[], what: string): void {
  assert.equal(got.length, want.length, `${what}: rows`);
  for (let r = 0; r < want.length; r++) {
    const g = got[r];
    const w = want[r];
    const at = `${what}: row ${r}`;
    assert.equal(g.id, w.id, `${at}: sampled id`);
    assert.ok(closeLogprob(g.logprob, w.logprob), `${at}: sampled logprob ${g.logprob}, twin ${w.logprob}`);
    assert.deepEqual(
      g.top.map((t) => t.id),
      w.top.map((t) => t.id),
      `${at}: top ids`,
    );
    g.top.forEach((t, k) => {
      const want = w.top[k].logprob;
      assert.ok(closeLogprob(t.logprob, want), `${at}: top[${k}] logprob ${t.logprob}, twin ${want}`);
    });
  }
}

async function check(
  gpu: Gpu,
  logits: Float32Array,
  rows: number,
  vocab: number,
  sampled: Uint32Array,
  n: number,
  what: string,
) {
  const got = await runLogprobs(gpu, logits, rows, vocab, sampled, n);
  expectSame(got, logprobsRef(logits, rows, vocab, sampled, n), `${what} (B=${rows} V=${vocab} N=${n})`);
  return got;
}

function randomSampled(rng: Rng, rows: number, vocab: number): Uint32Array {
  return Uint32Array.from({ length: rows }, () => rng.int(0, vocab - 1));
}

describe('logprobs kernel matches its twin', () => {
  it('on 30 random shapes (rows 1-17, V 1-151,936 including odd sizes, N 0/1/5/20, masks)', async () => {
    const gpu = await testGpu();
    const rng = new Rng(4242);
    for (let trial = 0; trial < 30; trial++) {
      const vocab = trial === 0 ? 151936 : rng.pick([1, 2, 3, 31, 255, 256, 257, 1000, 1023, 4099, 32000, 50257]);
      const rows = vocab > 40000 ? rng.int(1, 3) : rng.int(1, 17);
      const n = rng.pick([0, 1, 5, 20]);
      const logits = rng.normals(rows * vocab, rng.pick([1, 3, 10]));
      if (trial % 3 === 2) {
        // Grammar masks: about a third of each row at -inf, and NaN (which ranks as -inf).
        for (let i = 0; i < logits.length; i++) if (rng.next() < 0.33) logits[i] = NEG_INF;
        logits[rng.int(0, logits.length - 1)] = Number.NaN;
      }
      await check(gpu, logits, rows, vocab, randomSampled(rng, rows, vocab), n, `seed 4242 trial ${trial}`);
    }
  });

  it('clamps N > V: top lists all V tokens and the pairs past V are dropped', async () => {
    const gpu = await testGpu();
    const rng = new Rng(7);
    for (const [vocab, n] of [
      [1, 1],
      [1, 20],
      [3, 5],
      [19, 20],
    ]) {
      const got = await check(gpu, rng.normals(2 * vocab), 2, vocab, randomSampled(rng, 2, vocab), n, 'N > V');
      for (const row of got) assert.equal(row.top.length, Math.min(n, vocab));
    }
  });

  it('ranks ties by lower id, also ties that straddle the Nth place and the -inf tail', async () => {
    const gpu = await testGpu();
    const rng = new Rng(11);
    const vocab = 3001;
    const rows = 6;
    const logits = new Float32Array(rows * vocab);
    // Row 0: 2,000 tokens tied at the top (more than any thread's list); row 1: a few distinct values, so every
    // place is a tie; row 2: 5 finite tokens and N = 20 (the last 15 places are -inf, lowest ids first);
    // row 3: +0 and -0 (+0 ranks first) and +inf (the largest f32); rows 4 and 5: steps up and down, so a thread
    // meets runs of ties and then a larger value that must pass them.
    for (let i = 0; i < vocab; i++) {
      logits[4 * vocab + i] = Math.floor(i / 97);
      logits[5 * vocab + i] = -Math.floor(i / 97) + (i % 3 === 0 ? 0.5 : 0);
      logits[i] = rng.next() < 0.66 ? 4 : rng.normal();
      logits[vocab + i] = rng.int(-3, 3);
      logits[2 * vocab + i] = NEG_INF;
      logits[3 * vocab + i] = rng.pick([0, -0, -1]);
    }
    for (const i of [7, 300, 301, 2999, 3000]) logits[2 * vocab + i] = rng.normal();
    logits[3 * vocab + 1234] = Number.POSITIVE_INFINITY;
    for (const n of [1, 5, 20]) await check(gpu, logits, rows, vocab, randomSampled(rng, rows, vocab), n, 'ties');

    // One thread (ids 0, 256, 512, 768 of a 256-thread workgroup) meets four equal logits and then a larger one: the
    // tied entries must keep id order as they move down its list of 4, or places 2-4 come out wrong.
    const run = new Float32Array(vocab).fill(-5);
    for (const i of [0, 256, 512, 768]) run[i] = 1;
    run[1024] = 2;
    for (const n of [1, 2, 3, 4, 5]) await check(gpu, run, 1, vocab, new Uint32Array([256]), n, 'ties then a larger');
  });

  it('finds the best tokens when many share one thread slice (ids equal mod the workgroup size)', async () => {
    const gpu = await testGpu();
    const rng = new Rng(17);
    // Each thread keeps its 4 best in registers; rows whose best tokens crowd into few slices take the exact rescan.
    // The workgroup is 256 threads from V = 1024 (32 at V <= 128), so ids 256 apart share a thread.
    for (const [vocab, stride] of [
      [151936, 256],
      [5000, 256],
      [100, 32],
    ]) {
      const rows = 3;
      const logits = rng.normals(rows * vocab);
      for (let i = 5, k = 0; i + 1 < vocab; i += stride, k++) {
        logits[i] = 10 + rng.next(); // row 0: every best token in thread 5
        logits[vocab + i] = 10; // row 1: the same, tied
        logits[2 * vocab + i + (k % 2)] = 10 + rng.next(); // row 2: threads 5 and 6 share them
      }
      for (const n of [5, 20]) await check(gpu, logits, rows, vocab, randomSampled(rng, rows, vocab), n, 'crowded');
    }
  });

  it('peaked rows, one finite token, no finite token, and 1e30-size logits without NaN', async () => {
    const gpu = await testGpu();
    const rng = new Rng(13);
    const vocab = 5003;
    const rows = 5;
    const logits = new Float32Array(rows * vocab);
    const sampled = new Uint32Array(rows);
    for (let i = 0; i < vocab; i++) {
      logits[i] = rng.normal(); // row 0: one logit 1e4 above the rest
      logits[vocab + i] = NEG_INF; // row 1: all -inf but one
      logits[2 * vocab + i] = NEG_INF; // row 2: all -inf
      logits[3 * vocab + i] = rng.normal() * 1e30; // row 3: huge magnitudes
      logits[4 * vocab + i] = 1e30 + rng.int(0, 3) * 1e24; // row 4: huge and close together
    }
    logits[77] = 1e4;
    logits[vocab + 4000] = -5;
    logits[3 * vocab + 10] = 3e38;
    logits[3 * vocab + 11] = -3e38;
    sampled.set([77, 4000, 0, 11, 5]);
    for (const n of [0, 5, 20]) {
      const got = await check(gpu, logits, rows, vocab, sampled, n, 'extremes');
      assert.ok(Math.abs(got[0].logprob) < 1e-6, `peaked: the peak has logprob ~0, got ${got[0].logprob}`);
      assert.equal(got[1].logprob, 0, 'the only finite token has logprob 0');
      assert.equal(got[2].logprob, NEG_INF, 'a row with no finite logit gives -inf');
      for (const row of got) for (const t of row.top) assert.ok(!Number.isNaN(t.logprob), 'no NaN');
    }
  });

  it('writes NaN for a sampled id outside the vocabulary', async () => {
    const gpu = await testGpu();
    const got = await check(gpu, new Float32Array([1, 2, 3]), 1, 3, new Uint32Array([3]), 2, 'bad id');
    assert.ok(Number.isNaN(got[0].logprob));
    assert.deepEqual(
      got[0].top.map((t) => t.id),
      [2, 1],
    );
  });
});

describe('logprobs launcher', () => {
  it('rejects N outside 0..20, a wrong output shape and a vocabulary past 2^20', async () => {
    const gpu = await testGpu();
    const step = gpu.step('bad');
    const logits = gpu.createTensor('f32', [2, 10], 'logits');
    const sampled = gpu.createTensor('u32', [2], 'sampled');
    const out = (n: number) => gpu.createTensor('u32', [2, logprobsWords(n)], 'out');
    assert.throws(
      () => logprobs(step, { logits, sampled, topN: 21, out: out(21) }),
      /logprobs: topN must be an integer in \[0, 20\], got 21/,
    );
    assert.throws(
      () => logprobs(step, { logits, sampled, topN: 5, out: out(4) }),
      /logprobs: out must be u32\[2, 11\], got u32\[2, 9\]/,
    );
    assert.throws(
      () => logprobs(step, { logits, sampled: gpu.createTensor('u32', [3], 's'), topN: 0, out: out(0) }),
      /logprobs: sampled must be u32\[2\]/,
    );
    const huge = gpu.createTensor('f32', [1, 2 ** 20 + 1], 'huge');
    assert.throws(
      () =>
        logprobs(step, {
          logits: huge,
          sampled: gpu.createTensor('u32', [1], 's'),
          topN: 0,
          out: gpu.createTensor('u32', [1, 1], 'o'),
        }),
      /vocab must be in \[1, 1048576\], got 1048577/,
    );
  });

  it('unpackLogprobs reads rows of (logprob, then (id, logprob) pairs) and drops filler pairs', () => {
    const words = new DataView(new ArrayBuffer(2 * 5 * 4));
    const f = (w: number, v: number) => words.setFloat32(w * 4, v, true);
    const u = (w: number, v: number) => words.setUint32(w * 4, v, true);
    f(0, -0.25);
    u(1, 9);
    f(2, -0.25);
    u(3, 4);
    f(4, -1.5);
    f(5, 0);
    u(6, 0);
    f(7, 0);
    u(8, 0xffffffff);
    f(9, NEG_INF);
    assert.deepEqual(unpackLogprobs(new Uint8Array(words.buffer), 2, 2, [9, 0]), [
      {
        id: 9,
        logprob: -0.25,
        top: [
          { id: 9, logprob: -0.25 },
          { id: 4, logprob: -1.5 },
        ],
      },
      { id: 0, logprob: 0, top: [{ id: 0, logprob: 0 }] },
    ]);
    assert.throws(() => unpackLogprobs(new Uint8Array(12), 1, 2, [0]), /need 20 bytes, got 12/);
  });
});
