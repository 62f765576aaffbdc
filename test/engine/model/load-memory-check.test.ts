/**
 * Engine.load checks the weights (as they will be on the GPU) plus the KV pool its config asks for against the
 * adapter's binding limit and the GPU budget BEFORE any weight is uploaded: a model over a tiny budget, a context
 * over what the budget leaves, a KV layer buffer over a tiny (faked) binding limit are refused with an error that says
 * what would fit, and not one byte is uploaded (the progress callback never runs). A load that fits uploads exactly
 * the planned bytes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { EngineConfigError } from '../../../engine/engine-config.ts';
import { QWEN3_0_6B_SHAPE, writeSyntheticGguf } from '../../../engine/gguf/synthetic-model.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { loadModel, type WeightPlan } from '../../../engine/model/load-model.ts';
import { testGpu } from '../../helpers/gpu.ts';

const MiB = 2 ** 20;
let root: string;
let dir: string;
let weightBytes: number;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-load-memory-'));
  dir = join(root, 'tiny.gguf');
  // A synthetic tiny GGUF model (512-token vocabulary: opening it takes milliseconds). KV: 2 layers x K and V x
  // 2 heads x 32 x 2 bytes = 512 bytes a token at f16.
  await writeSyntheticGguf(dir, {
    shape: {
      ...QWEN3_0_6B_SHAPE,
      vocab: 512,
      hidden: 256,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 32,
      intermediate: 256,
    },
    mix: 'f16',
  });
  // What the loader plans, from the headers (checked against what it then uploads in the last test).
  let plan: WeightPlan | undefined;
  await assert.rejects(
    loadModel(await testGpu(), dir, undefined, {
      beforeUpload: (p) => {
        plan = p;
        throw new Error('stop before upload');
      },
    }),
    /stop before upload/,
  );
  weightBytes = plan!.weightBytes;
});
after(() => rm(root, { recursive: true, force: true }));

/** Engine.load, counting upload progress calls (0 means nothing was uploaded). */
async function loadCounting(gpu: Gpu, input: Parameters<typeof Engine.load>[2]) {
  let uploads = 0;
  const result = Engine.load(gpu, dir, input, () => uploads++);
  return { result, uploads: () => uploads };
}

describe('Engine.load checks memory before it uploads', () => {
  it('weights over the GPU budget: refused, nothing uploaded', async () => {
    const { result, uploads } = await loadCounting(await testGpu(), {
      cache: { gpuBudgetBytes: Math.floor(weightBytes / 2) },
      maxModelLen: 64,
    });
    await assert.rejects(result, (e: Error) => {
      assert.ok(e instanceof EngineConfigError, e.message);
      assert.match(e.message, /over the .* memory budget/);
      assert.match(e.message, /weights alone leave no room/);
      return true;
    });
    assert.equal(uploads(), 0);
  });

  it('a context over what the budget leaves: says how many tokens fit, nothing uploaded', async () => {
    // Room for the weights and a little KV cache (512 bytes a token).
    const budget = weightBytes + 64 * 1024;
    const { result, uploads } = await loadCounting(await testGpu(), {
      cache: { gpuBudgetBytes: budget, pageSize: 16 },
      maxModelLen: 2048,
      attention: { allowPlas: false },
    });
    await assert.rejects(result, (e: Error) => {
      assert.ok(e instanceof EngineConfigError, e.message);
      const fit = /at most (\d+)/.exec(e.message);
      assert.ok(fit, e.message);
      assert.ok(Number(fit[1]) > 0 && Number(fit[1]) < 2048, e.message);
      return true;
    });
    assert.equal(uploads(), 0);
  });

  it("a KV layer buffer over the adapter's binding limit (faked tiny): refused, nothing uploaded", async () => {
    const real = await testGpu();
    // Only the limits are read before the refusal; the rest of the Gpu is the real one.
    const fake = Object.create(real) as Gpu;
    const limits = { ...real.limits, maxStorageBufferBindingSize: 64 * 1024, maxBufferSize: 64 * 1024 };
    Object.defineProperty(fake, 'limits', { value: limits });
    // One layer's K for 4,096 tokens is 2 KV heads x 32 x 2 bytes x 4,096 = 512 KiB, over the 64 KiB limit.
    const { result, uploads } = await loadCounting(fake, {
      cache: { memoryBytes: 8 * MiB, pageSize: 16 },
      maxModelLen: 4096,
    });
    await assert.rejects(result, (e: Error) => {
      assert.ok(e instanceof EngineConfigError, e.message);
      assert.match(e.message, /binding limit/);
      const fit = /at most (\d+)/.exec(e.message);
      assert.ok(fit && Number(fit[1]) > 0 && Number(fit[1]) < 4096, e.message);
      return true;
    });
    assert.equal(uploads(), 0);
  });

  it('a load that fits: the engine starts, and the weights take exactly the planned bytes', async () => {
    const gpu = await testGpu();
    let uploads = 0;
    const { model, engine } = await Engine.load(
      gpu,
      dir,
      { cache: { gpuBudgetBytes: weightBytes + 4 * MiB, pageSize: 16 }, maxModelLen: 128 },
      () => uploads++,
    );
    try {
      assert.ok(uploads > 0);
      assert.equal(model.weightBytes, weightBytes);
      assert.ok(engine.stats().kv.tokensThatFit >= 128);
    } finally {
      await engine.close();
      model.dispose();
    }
  });
});
