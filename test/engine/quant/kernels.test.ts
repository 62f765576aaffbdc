/**
 * The quantized kernels against their twins (engine/reference/matmul-quant.ts) on SwiftShader: matvec (subgroup and
 * workgroup-memory variants), the tiled kernel, the chunked decode path, and the embedding lookup, for every quant
 * type, on random shapes with M, N not multiples of the workgroup's rows or tiles.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { embedding } from '../../../engine/gpu/kernels/embedding.ts';
import { type MatmulArgs, matmul, matmulTiled, matvec } from '../../../engine/gpu/kernels/matmul.ts';
import { linear } from '../../../engine/gpu/kernels/matmul-quant.ts';
import type { Step } from '../../../engine/gpu/step.ts';
import { quantize } from '../../../engine/quant/quantize.ts';
import { QUANT_BLOCKS, QUANT_TYPES, type QuantType } from '../../../engine/quant/types.ts';
import { embedding as embeddingRef } from '../../../engine/reference/embedding.ts';
import { matmul as matmulRef } from '../../../engine/reference/matmul.ts';
import { embeddingQuant, matmulQuant } from '../../../engine/reference/matmul-quant.ts';
import { assertClose, TOL } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

type Launcher = (step: Step, a: MatmulArgs) => void;

/** Quantized weights on the GPU: the ggml block bytes as they are, padded to whole words by createTensor/writeBytes. */
function uploadQuant(gpu: Gpu, type: QuantType, rows: number, cols: number, bytes: Uint8Array) {
  const t = gpu.createTensor(type, [rows, cols], `${type} weight`);
  gpu.writeBytes(t, bytes);
  return t;
}

/**
 * One shape: the kernel sums dequantized weights times x in f32, the twin in double on the same dequantized values;
 * as for float weights the difference is f32 rounding of the sum, within TOL.f32 (1e-5 of the largest output).
 */
async function check(gpu: Gpu, rng: Rng, type: QuantType, launch: Launcher, m: number, n: number, k: number) {
  const x = rng.normals(m * k);
  const blocks = quantize(type, rng.normals(n * k, 0.05), n, k);
  const bias = rng.next() < 0.3 ? rng.normals(n) : undefined;
  const t = {
    x: gpu.upload('f32', [m, k], x, 'x'),
    weight: uploadQuant(gpu, type, n, k, blocks),
    out: gpu.createTensor('f32', [m, n], 'out'),
    ...(bias ? { bias: gpu.upload('f32', [n], bias, 'bias') } : {}),
  };
  try {
    const step = gpu.step('quant matmul test');
    launch(step, t);
    await step.submit();
    const what = `${type} M=${m} N=${n} K=${k}${bias ? ' +bias' : ''}`;
    assertClose(await gpu.read(t.out), matmulQuant(x, type, blocks, bias, m, n, k), TOL.f32, what);
  } finally {
    for (const tensor of Object.values(t)) tensor.buffer.destroy();
  }
}

/** Row lengths: whole blocks, several blocks, and (for the 32-blocks) an odd count so q8_0/q4_0 rows end mid-word. */
function ks(type: QuantType): number[] {
  return QUANT_BLOCKS[type].blockElements === 32 ? [32, 96, 544] : [256, 768];
}

describe('quantized matmul kernels match their twins', () => {
  for (const type of QUANT_TYPES) {
    it(`${type}: matvec (both variants), chunked decode and tiled, random shapes`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(QUANT_TYPES.indexOf(type) + 500);
      for (const k of ks(type)) {
        await check(gpu, rng, type, (s, a) => matvec(s, a, { subgroups: true }), rng.pick([1, 3, 8]), 37, k);
        await check(gpu, rng, type, (s, a) => matvec(s, a, { subgroups: false }), rng.pick([1, 2, 5]), 67, k);
      }
      const k = ks(type).at(-1)!;
      await check(gpu, rng, type, matmul, 19, 130, k); // 3 matvec chunks of <= 8 rows
      await check(gpu, rng, type, matmulTiled, 70, 67, k); // partial 64 x 64 tiles in both directions
      await check(gpu, rng, type, matmulTiled, 5, 1, ks(type)[0]);
    });
  }

  it('reject a row length that is not whole blocks', async () => {
    const gpu = await testGpu();
    const step = gpu.step('bad');
    const w = gpu.createTensor('q4_k', [4, 256], 'w');
    const x = gpu.createTensor('f32', [1, 256], 'x');
    const out = gpu.createTensor('f32', [1, 4], 'out');
    matvec(step, { x, weight: w, out }); // fine
    assert.throws(
      () => matvec(step, { x, weight: w, out: gpu.createTensor('f32', [1, 5], 'o') }),
      /matvec: out must be f32\[1, 4\]/,
    );
    const w32 = { ...w, shape: [8, 128] };
    assert.throws(
      () =>
        matvec(step, {
          x: gpu.createTensor('f32', [1, 128], 'x'),
          weight: w32,
          out: gpu.createTensor('f32', [1, 8], 'o'),
        }),
      /K must be a multiple of 256 for q4_k weights, got K=128/,
    );
  });
});

describe('quantized embedding matches its twin', () => {
  it('every type, with out-of-range ids and a scale', async () => {
    const gpu = await testGpu();
    const rng = new Rng(901);
    for (const type of QUANT_TYPES) {
      const vocab = rng.pick([3, 37, 129]);
      const hidden = ks(type)[1];
      const tokens = rng.pick([1, 5, 33]);
      const blocks = quantize(type, rng.normals(vocab * hidden), vocab, hidden);
      const ids = Array.from({ length: tokens }, () => (rng.next() < 0.1 ? vocab + 3 : rng.int(0, vocab - 1)));
      const tIds = gpu.upload('u32', [tokens], ids, 'ids');
      const table = uploadQuant(gpu, type, vocab, hidden, blocks);
      const out = gpu.createTensor('f32', [tokens, hidden], 'out');
      const step = gpu.step('quant embedding');
      embedding(step, { ids: tIds, table, out, scale: 2 });
      await step.submit();
      // One dequantized value times a power of two: exact up to the GPU fusing d * q - m (1 ulp).
      assertClose(
        await gpu.read(out),
        embeddingQuant(ids, type, blocks, vocab, hidden, 2),
        { rtol: 1e-6, atol: 1e-7 },
        `${type} ${vocab}x${hidden}`,
      );
      for (const t of [tIds, table, out]) t.buffer.destroy();
    }
  });
});

describe('a table split by rows across buffers', () => {
  it('embedding and linear give what the whole table gives, out-of-range ids still zeros', async () => {
    const gpu = await testGpu();
    const rng = new Rng(902);
    const [vocab, hidden] = [200, 64];
    const table = rng.normals(vocab * hidden);
    const partRows = [64, 64, 72];
    const parts = partRows.map((rows, i) => {
      const start = i * 64;
      return {
        rowStart: start,
        tensor: gpu.upload('f32', [rows, hidden], table.subarray(start * hidden, (start + rows) * hidden), `part ${i}`),
      };
    });
    const split = { ...parts[0].tensor, shape: [vocab, hidden], label: 'split table', parts };
    const ids = [0, 63, 64, 199, 130, 200, 0xffffffff, 127, 128];
    const tIds = gpu.upload('u32', [ids.length], ids, 'ids');
    const out = gpu.createTensor('f32', [ids.length, hidden], 'out');
    const x = rng.normals(3 * hidden);
    const tx = gpu.upload('f32', [3, hidden], x, 'x');
    const logits = gpu.createTensor('f32', [3, vocab], 'logits');
    const x1 = gpu.upload('f32', [1, hidden], x.subarray(0, hidden), 'x1');
    const logits1 = gpu.createTensor('f32', [1, vocab], 'logits1');
    try {
      const step = gpu.step('split table');
      embedding(step, { ids: tIds, table: split, out, scale: 0.5 });
      linear(step, { x: tx, weight: split, out: logits }); // 3 rows: parts computed apart, copied into columns
      linear(step, { x: x1, weight: split, out: logits1 }); // 1 row: parts written in place
      await step.submit();
      const exact = { rtol: 0, atol: 0 };
      assertClose(await gpu.read(out), embeddingRef(ids, table, vocab, hidden, 0.5), exact, 'split embedding');
      const expected = matmulRef(x, table, undefined, 3, vocab, hidden);
      assertClose(await gpu.read(logits), expected, TOL.f32, 'split linear, 3 rows');
      assertClose(await gpu.read(logits1), expected.subarray(0, vocab), TOL.f32, 'split linear, 1 row');
      assert.throws(
        () => linear(gpu.step('bad'), { x: tx, weight: split, out: logits, bias: logits1 }),
        /linear: a weight split across buffers takes no bias/,
      );
    } finally {
      for (const t of [tIds, out, tx, logits, x1, logits1, ...parts.map((p) => p.tensor)]) t.buffer.destroy();
    }
  });
});
