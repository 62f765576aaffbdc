import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import {
  attentionDecode,
  attentionPrefill,
  planAttentionDecode,
  planAttentionPrefill,
} from '../../../engine/gpu/kernels/attention.ts';
import type { Tensor } from '../../../engine/gpu/tensor.ts';
import { attention as attentionRef } from '../../../engine/reference/attention.ts';
import { assertClose, TOL } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

/**
 * f32 tolerance, TOL.f32 (1e-5 of max|out|): a D-long dot product, exp2 (a few ulp, growing with |logit|) and sums over
 * up to 700 keys, against the twin's f64. The worst error seen on these shapes is 1.5e-6 of max|out|.
 */

const HEADS: [number, number][] = [
  [4, 4],
  [8, 2],
  [7, 1],
  [14, 2],
  [2, 1],
  [4, 1],
];

/**
 * Decode shapes (head_dim, heads, kvHeads). Few, because each (head_dim, GQA group) is its own pipeline and
 * SwiftShader compiles slowly; they cover groups 1, 4 and 7, and a group split over two head blocks (7 heads at D=256).
 */
const DECODE_SHAPES: [number, number, number][] = [
  [64, 14, 2],
  [64, 4, 4],
  [80, 8, 2],
  [128, 7, 1],
  [128, 16, 4],
];

/** A KV cache of capacity S whose rows from `validRows` on hold NaN: any read past them shows up in the output. */
function cache(gpu: Gpu, rng: Rng, S: number, kvHeads: number, D: number, validRows: number, label: string) {
  const values = rng.normals(S * kvHeads * D);
  values.fill(Number.NaN, validRows * kvHeads * D);
  return { values, tensor: gpu.upload('f32', [S, kvHeads, D], values, label) };
}

function destroy(...tensors: Tensor[]): void {
  for (const t of tensors) t.buffer.destroy();
}

describe('attention prefill kernel matches its twin', () => {
  it('on 24 random shapes: head dims 64/80/128/256, GQA 1-7, ragged T, chunked prefill', async () => {
    const gpu = await testGpu();
    const rng = new Rng(4242);
    for (let trial = 0; trial < 24; trial++) {
      const D = trial === 23 ? 256 : rng.pick([64, 80, 128]);
      const [heads, kvHeads] = rng.pick(HEADS);
      const T = rng.pick([1, 3, 17, 33, 70]);
      const queryStart = trial % 3 === 0 ? 0 : rng.pick([1, 5, 40, 111]);
      const kvLength = queryStart + T + rng.pick([0, 0, 3]);
      const S = kvLength + rng.pick([0, 1, 9]);
      // Sharper softmaxes on some trials, to exercise the running max.
      const qScale = rng.pick([0.5, 1, 3]);
      const scale = trial % 4 === 1 ? 0.3 : undefined;
      const q = rng.normals(T * heads * D, qScale);
      // Keys after the chunk's last position are NaN: the causal mask must never read them.
      const k = cache(gpu, rng, S, kvHeads, D, queryStart + T, 'k');
      const v = cache(gpu, rng, S, kvHeads, D, queryStart + T, 'v');
      const tq = gpu.upload('f32', [T, heads, D], q, 'q');
      const out = gpu.createTensor('f32', [T, heads, D], 'out');
      const step = gpu.step('attention prefill test');
      attentionPrefill(step, { q: tq, k: k.tensor, v: v.tensor, out, queryStart, kvLength, scale });
      await step.submit();
      const ref = attentionRef(q, k.values, v.values, { T, heads, kvHeads, D, queryStart, kvLength, scale });
      const what = `seed 4242 trial ${trial}: T=${T} heads=${heads}:${kvHeads} D=${D} queryStart=${queryStart} kvLength=${kvLength} S=${S}`;
      assertClose(await gpu.read(out), ref, TOL.f32, what);
      destroy(tq, k.tensor, v.tensor, out);
    }
  });

  it('picks tiles that fit 32 KiB and at most 8 output vec4s per thread', () => {
    for (const D of [4, 64, 80, 128, 256]) {
      const plan = planAttentionPrefill(D, 32768);
      const bytes =
        16 * (plan.rowsPerTile * (D / 4 + 1) + plan.keysPerTile * (D / 2 + 1)) +
        4 * plan.rowsPerTile * plan.keysPerTile;
      assert.ok(bytes <= 32768, `D=${D}: ${bytes} bytes of workgroup memory`);
      assert.ok(plan.rowsPerTile * plan.threadsPerRow <= 256);
      assert.ok(Math.ceil(D / 4 / plan.threadsPerRow) <= 8);
    }
    assert.deepEqual(planAttentionPrefill(128, 32768), { rowsPerTile: 16, keysPerTile: 16, threadsPerRow: 8 });
  });
});

describe('attention decode kernels match their twin', () => {
  it('on 24 random shapes: kvLength 1..700, requested splits that do not divide the tiles', async () => {
    const gpu = await testGpu();
    const rng = new Rng(777);
    for (let trial = 0; trial < 24; trial++) {
      const [D, heads, kvHeads] = trial === 23 ? [256, 7, 1] : rng.pick(DECODE_SHAPES);
      const kvLength = trial === 0 ? 1 : trial === 23 ? 70 : rng.pick([1, 2, 17, 33, 64, 70, 257, 700]);
      const S = kvLength + rng.pick([0, 1, 9]);
      const splits = trial === 23 ? 2 : rng.pick([undefined, undefined, 1, 2, 3, 5, 1000]);
      const qScale = rng.pick([0.5, 1, 3]);
      const scale = trial % 4 === 1 ? 0.3 : undefined;
      const q = rng.normals(heads * D, qScale);
      const k = cache(gpu, rng, S, kvHeads, D, kvLength, 'k');
      const v = cache(gpu, rng, S, kvHeads, D, kvLength, 'v');
      const tq = gpu.upload('f32', [1, heads, D], q, 'q');
      const out = gpu.createTensor('f32', [1, heads, D], 'out');
      const step = gpu.step('attention decode test');
      attentionDecode(step, { q: tq, k: k.tensor, v: v.tensor, out, kvLength, scale, splits });
      assert.equal(step.dispatchCount, 2);
      await step.submit();
      const ref = attentionRef(q, k.values, v.values, {
        T: 1,
        heads,
        kvHeads,
        D,
        queryStart: kvLength - 1,
        kvLength,
        scale,
      });
      const plan = planAttentionDecode(
        { heads, kvHeads, headDim: D, kvLength, splits },
        gpu.limits.maxComputeWorkgroupStorageSize,
      );
      const what = `seed 777 trial ${trial}: heads=${heads}:${kvHeads} D=${D} kvLength=${kvLength} S=${S} splits=${splits} (ran ${plan.splits} x ${plan.tilesPerSplit} tiles of ${plan.tile})`;
      assertClose(await gpu.read(out), ref, TOL.f32, what);
      destroy(tq, k.tensor, v.tensor, out);
    }
  });

  it('evens requested splits over the KV tiles and never leaves a split empty', () => {
    const shape = { heads: 14, kvHeads: 2, headDim: 64 };
    const plan = (kvLength: number, splits?: number) => planAttentionDecode({ ...shape, kvLength, splits }, 32768);
    assert.equal(plan(700).tile, 32); // 22 tiles, the last one of 28 keys
    assert.deepEqual([plan(700, 3).splits, plan(700, 3).tilesPerSplit], [3, 8]); // 8 + 8 + 6 tiles
    assert.deepEqual([plan(700, 7).splits, plan(700, 7).tilesPerSplit], [6, 4]); // 4 x 5 + 2: 7 would leave one empty
    assert.deepEqual([plan(70, 1000).splits, plan(70, 1000).tilesPerSplit], [3, 1]);
    assert.deepEqual([plan(1).splits, plan(1).tilesPerSplit], [1, 1]);
    // Default: enough splits for ~256 workgroups over 2 kv heads, but >= 2 tiles each.
    assert.equal(plan(4096).splits, 64);
    for (const kvLength of [1, 31, 32, 33, 700, 4096]) {
      for (const splits of [undefined, 1, 2, 3, 7, 100]) {
        const p = plan(kvLength, splits);
        const tiles = Math.ceil(kvLength / p.tile);
        assert.ok((p.splits - 1) * p.tilesPerSplit < tiles && p.splits * p.tilesPerSplit >= tiles);
      }
    }
  });
});

describe('attention reads K and V from one buffer', () => {
  it('at 256-aligned offsets, as one KV-cache allocation holds them', async () => {
    const gpu = await testGpu();
    const rng = new Rng(99);
    const [S, heads, kvHeads, D, T] = [40, 14, 2, 64, 5];
    const kvLength = 37;
    const kv = rng.normals(2 * S * kvHeads * D); // k then v, each [S, kvHeads, D] (S * kvHeads * D * 4 bytes = 20480)
    const whole = gpu.upload('f32', [2 * S * kvHeads * D], kv, 'kv');
    const at = (offset: number): Tensor => ({ ...whole, shape: [S, kvHeads, D], offset, label: 'kv view' });
    const [k, v] = [at(0), at(S * kvHeads * D * 4)];
    const [kValues, vValues] = [kv.subarray(0, S * kvHeads * D), kv.subarray(S * kvHeads * D)];
    const q = rng.normals(T * heads * D);
    const tq = gpu.upload('f32', [T, heads, D], q, 'q');
    const out = gpu.createTensor('f32', [T, heads, D], 'out');
    const tq1 = gpu.upload('f32', [1, heads, D], q.subarray(0, heads * D), 'q1');
    const out1 = gpu.createTensor('f32', [1, heads, D], 'out1');
    const step = gpu.step('shared kv');
    attentionPrefill(step, { q: tq, k, v, out, queryStart: kvLength - T, kvLength });
    attentionDecode(step, { q: tq1, k, v, out: out1, kvLength, splits: 2 });
    await step.submit();
    const shape = { heads, kvHeads, D, kvLength };
    const ref = attentionRef(q, kValues, vValues, { ...shape, T, queryStart: kvLength - T });
    const ref1 = attentionRef(q.subarray(0, heads * D), kValues, vValues, { ...shape, T: 1, queryStart: kvLength - 1 });
    assertClose(await gpu.read(out), ref, TOL.f32, 'prefill, k and v in one buffer');
    assertClose(await gpu.read(out1), ref1, TOL.f32, 'decode, k and v in one buffer');
    destroy(whole, tq, out, tq1, out1);
  });
});

describe('attention launchers reject bad arguments', () => {
  it('naming the kernel, what was expected and what was given', async () => {
    const gpu = await testGpu();
    const f32 = (shape: number[]) => gpu.createTensor('f32', shape, 'x');
    const k = f32([16, 2, 64]);
    const v = f32([16, 2, 64]);
    const step = gpu.step('bad');
    const prefill = (over: Partial<Parameters<typeof attentionPrefill>[1]>) => () =>
      attentionPrefill(step, { q: f32([4, 8, 64]), k, v, out: f32([4, 8, 64]), queryStart: 0, kvLength: 4, ...over });
    const decode = (over: Partial<Parameters<typeof attentionDecode>[1]>) => () =>
      attentionDecode(step, { q: f32([1, 8, 64]), k, v, out: f32([1, 8, 64]), kvLength: 4, ...over });
    const rejects = (fn: () => void, message: RegExp) =>
      assert.throws(fn, (e: Error) => e instanceof KernelArgumentError && message.test(e.message));

    rejects(
      prefill({ q: f32([4, 7, 64]), out: f32([4, 7, 64]) }),
      /^attention_prefill: heads \(7\) must be a multiple of kvHeads \(2\)$/,
    );
    rejects(prefill({ kvLength: 17 }), /^attention_prefill: kvLength must be an integer in \[1, S = 16\].*got 17$/);
    rejects(
      prefill({ queryStart: 3, kvLength: 6 }),
      /^attention_prefill: kvLength \(6\) must be >= queryStart \+ T \(3 \+ 4\)/,
    );
    rejects(
      prefill({ q: gpu.createTensor('f16', [4, 8, 64], 'qh') }),
      /^attention_prefill: q must be f32\[T, heads, D\], got f16\[4, 8, 64\]$/,
    );
    rejects(prefill({ v: f32([16, 2, 32]) }), /^attention_prefill: v must be f32\[16, 2, 64\], got f32\[16, 2, 32\]$/);
    rejects(prefill({ out: f32([4, 8, 32]) }), /^attention_prefill: out must be f32\[4, 8, 64\], got f32\[4, 8, 32\]$/);
    rejects(prefill({ out: k }), /^attention_prefill: out and k share a buffer/);
    rejects(
      prefill({ q: f32([4, 8, 6]), k: f32([16, 2, 6]), v: f32([16, 2, 6]), out: f32([4, 8, 6]) }),
      /head dim must be a multiple of 4 in \[4, 256\], got 6/,
    );

    rejects(
      decode({ q: f32([1, 6, 64]), k: f32([16, 4, 64]), v: f32([16, 4, 64]), out: f32([1, 6, 64]) }),
      /^attention_decode_split: heads \(6\) must be a multiple of kvHeads \(4\)$/,
    );
    rejects(decode({ kvLength: 0 }), /^attention_decode_split: kvLength must be an integer in \[1, S = 16\].*got 0$/);
    rejects(decode({ kvLength: 17 }), /kvLength must be an integer in \[1, S = 16\].*got 17$/);
    rejects(
      decode({ q: f32([2, 8, 64]), out: f32([2, 8, 64]) }),
      /^attention_decode_split: q must be f32\[1, 8, 64\], got f32\[2, 8, 64\]$/,
    );
    rejects(
      decode({ k: gpu.createTensor('bf16', [16, 2, 64], 'kh') }),
      /^attention_decode_split: k must be f32\[S, kvHeads, 64\], got bf16\[16, 2, 64\]$/,
    );
    rejects(decode({ splits: 0 }), /^attention_decode_split: splits must be a positive integer, got 0$/);
    rejects(decode({ scale: Number.NaN }), /scale must be a positive number, got NaN/);
    assert.equal(step.dispatchCount, 0);
  });
});
