import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLOAT_DTYPES, roundToDType } from '../../../engine/gpu/dtype.ts';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import { embedding } from '../../../engine/gpu/kernels/embedding.ts';
import { embedding as embeddingRef } from '../../../engine/reference/embedding.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';

describe('embedding kernel matches its twin', () => {
  it('on 24 random shapes, all table dtypes, with scales and out-of-range ids', async () => {
    const gpu = await testGpu();
    const rng = new Rng(777);
    for (let trial = 0; trial < 24; trial++) {
      const dtype = FLOAT_DTYPES[trial % 3];
      const vocab = rng.pick([1, 2, 5, 100, 1027]);
      const hidden = rng.pick([1, 2, 3, 6, 8, 64, 896, 1030, 1100]);
      const tokens = rng.pick([1, 2, 7, 33, 300]);
      const scale = trial % 4 === 0 ? Math.sqrt(hidden) : 1;
      const table = roundToDType(rng.normals(vocab * hidden), dtype);
      const ids = Array.from({ length: tokens }, () =>
        rng.next() < 0.1 ? rng.pick([vocab, vocab + 1, 0xffffffff]) : rng.int(0, vocab - 1),
      );
      const tIds = gpu.upload('u32', [tokens], ids, 'ids');
      const tTable = gpu.upload(dtype, [vocab, hidden], table, 'table');
      const out = gpu.createTensor('f32', [tokens, hidden], 'out');
      const step = gpu.step('embedding test');
      embedding(step, { ids: tIds, table: tTable, out, scale });
      await step.submit();
      const what = `seed 777 trial ${trial}: ${dtype} table ${vocab}x${hidden}, ${tokens} tokens, scale ${scale}`;
      // A lookup and one f32 product: the GPU's rounding is the twin's, so the match is exact.
      assertClose(await gpu.read(out), embeddingRef(ids, table, vocab, hidden, scale), { rtol: 0, atol: 0 }, what);
      for (const t of [tIds, tTable, out]) t.buffer.destroy();
    }
  });

  it('rejects bad ids, table and out, naming the kernel', async () => {
    const gpu = await testGpu();
    const step = gpu.step('bad');
    const table = gpu.createTensor('bf16', [10, 8], 'table');
    const out = gpu.createTensor('f32', [3, 8], 'out');
    assert.throws(
      () => embedding(step, { ids: gpu.createTensor('i32', [3], 'ids'), table, out }),
      (e: Error) =>
        e instanceof KernelArgumentError && /^embedding: ids must be u32\[T\], got i32\[3\]$/.test(e.message),
    );
    const ids = gpu.createTensor('u32', [3], 'ids');
    assert.throws(
      () => embedding(step, { ids, table, out: gpu.createTensor('f32', [3, 4], 'o') }),
      /embedding: out must be f32\[3, 8\], got f32\[3, 4\]/,
    );
    assert.throws(() => embedding(step, { ids, table, out, scale: Number.NaN }), /embedding: scale must be a finite/);
    assert.throws(
      () => embedding(step, { ids, table: gpu.createTensor('u32', [10, 8], 't'), out }),
      /embedding: table must be f32\|f16\|bf16\[V, H\], got u32\[10, 8\]/,
    );
  });
});
