/** Prefix caching and chunked prefill with the real engine on the GPU. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32, prompts, runAlone, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

it('of two requests sharing a 1,000-token prefix, the second computes under 10% of the first prefill', async () => {
  const gpu = await testGpu();
  const engine = await Engine.create(gpu, model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    scheduler: { maxNumBatchedTokens: 512 },
  });
  const [prefix, tailA, tailB] = prompts([1000, 12, 9], 5);
  const first = await collect(engine.generate({ promptTokenIds: [...prefix, ...tailA], sampling: greedy(4) }));
  const second = await collect(engine.generate({ promptTokenIds: [...prefix, ...tailB], sampling: greedy(4) }));
  const firstComputed = first.done.usage.promptTokens - first.done.usage.cachedPromptTokens;
  const secondComputed = second.done.usage.promptTokens - second.done.usage.cachedPromptTokens;
  assert.equal(first.done.usage.cachedPromptTokens, 0);
  assert.ok(
    secondComputed < 0.1 * firstComputed,
    `second computed ${secondComputed} of ${second.done.usage.promptTokens}`,
  );
  // The cached pages give the same tokens as computing them.
  const fresh = await Engine.create(gpu, model, {
    cache: { pageSize: 16, memoryBytes: MB32, enablePrefixCaching: false },
  });
  assert.deepEqual(second.ids, await runAlone(fresh, [...prefix, ...tailB], greedy(4)));
  await fresh.close();
  await engine.close();
});

it('a prompt longer than max_num_batched_tokens completes, and other requests keep decoding between its chunks', async () => {
  const gpu = await testGpu();
  const engine = await Engine.create(gpu, model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    scheduler: { maxNumBatchedTokens: 64, maxNumSeqs: 8 },
  });
  const [short, long] = prompts([5, 600], 9);
  const shortRun = collect(engine.generate({ promptTokenIds: short, sampling: greedy(12) }));
  await new Promise((r) => setTimeout(r, 0));
  const longRun = collect(engine.generate({ promptTokenIds: long, sampling: greedy(3) }));
  const [s, l] = await Promise.all([shortRun, longRun]);
  assert.equal(l.done.finishReason, 'length');
  assert.equal(l.ids.length, 3);
  // 600 prompt tokens at <= 64 per step take >= 10 steps; the short request decodes during them.
  const beforeLongFirstToken = s.tokenSeq.filter((n) => n < l.tokenSeq[0]).length;
  assert.ok(
    beforeLongFirstToken >= 8,
    `short request produced ${beforeLongFirstToken} tokens while the long one prefilled`,
  );
  const alone = await Engine.create(gpu, model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    scheduler: { maxNumBatchedTokens: 2048 },
  });
  assert.deepEqual(
    l.ids,
    await runAlone(alone, long, greedy(3)),
    'chunked prefill gives the tokens of one-shot prefill',
  );
  await alone.close();
  await engine.close();
});
