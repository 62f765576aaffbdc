/**
 * The engine's KV cache memory: f16 pools by default (half the bytes of f32 for the same pages), max_model_len and a
 * GPU memory budget checked before the pool is allocated, with errors that say what would fit.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { EngineConfigError } from '../../../engine/engine-config.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

const MiB = 2 ** 20;
const rejects = (p: Promise<unknown>, message: RegExp) =>
  assert.rejects(p, (e: Error) => e instanceof EngineConfigError && message.test(e.message), String(message));

it('f16 pools by default: half the bytes of f32 for the same pages', async () => {
  const gpu = await testGpu();
  const d = model.dims;
  const f16 = await Engine.create(gpu, model, { cache: { pageSize: 16, numPages: 10 } });
  const f32 = await Engine.create(gpu, model, { cache: { pageSize: 16, numPages: 10, dtype: 'f32' } });
  assert.equal(f16.stats().kv.dtype, 'f16');
  assert.equal(f32.stats().kv.dtype, 'f32');
  assert.equal(f16.stats().kv.bytes, 10 * 16 * 2 * d.numLayers * d.kvHeads * d.headDim * 2);
  assert.equal(f32.stats().kv.bytes, 2 * f16.stats().kv.bytes);
  await f16.close();
  await f32.close();
  await rejects(
    Engine.create(gpu, model, { cache: { dtype: 'f8' as 'f16' } }),
    /cache\.dtype \("f8"\) must be f16 or f32/,
  );
});

it('max_model_len: at most the model context, held by the pool, and what requests are checked against', async () => {
  const gpu = await testGpu();
  const max = model.config.maxPositionEmbeddings;
  await rejects(
    Engine.create(gpu, model, { maxModelLen: max + 1 }),
    new RegExp(`max_model_len \\(${max + 1}\\) is over the model's max_position_embeddings \\(${max}\\)`),
  );
  await rejects(Engine.create(gpu, model, { maxModelLen: 0 }), /max_model_len \(0\) must be an integer >= 1/);
  await rejects(
    Engine.create(gpu, model, { maxModelLen: 4096, cache: { pageSize: 16, numPages: 8 } }),
    /max_model_len \(4096\) needs one sequence's 4096 tokens of KV cache, but the f16 KV pool holds 128 tokens .*lower max_model_len to at most 128, or raise kv_cache_memory to at least \d+ MiB/,
  );
  const engine = await Engine.create(gpu, model, { maxModelLen: 64, cache: { pageSize: 16 } });
  // Without a size, the pool holds max_num_seqs sequences of max_model_len, not of the model's whole context.
  assert.equal(engine.stats().kv.numPages, Math.ceil((engine.config.scheduler.maxNumSeqs * 64) / 16));
  const events = engine.generate({ promptTokenIds: Array(60).fill(100), sampling: { maxTokens: 10 } });
  await assert.rejects(
    (async () => {
      for await (const _ of events);
    })(),
    /context of 64/,
  );
  await engine.close();
});

it('a GPU memory budget sizes the pool next to the weights, and refuses what cannot fit before allocating', async () => {
  const gpu = await testGpu();
  const weights = model.weightBytes;
  const engine = await Engine.create(gpu, model, { cache: { pageSize: 16, gpuBudgetBytes: weights + MiB } });
  const kv = engine.stats().kv;
  assert.ok(kv.bytes + kv.keySumBytes <= MiB && kv.bytes + kv.keySumBytes > MiB / 2, JSON.stringify(kv));
  await engine.close();
  await rejects(
    Engine.create(gpu, model, { cache: { pageSize: 16, numPages: 4096, gpuBudgetBytes: weights + MiB } }),
    /tokens of f16 KV cache .* over the [\d.]+ MiB memory budget: at most \d+ tokens fit/,
  );
  await rejects(
    Engine.create(gpu, model, { cache: { gpuBudgetBytes: weights / 2 } }),
    /the weights alone leave no room for one page of KV cache/,
  );
});
