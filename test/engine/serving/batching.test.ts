/**
 * Continuous batching on the GPU with the real engine: concurrent requests produce exactly what each produces alone,
 * under a pool small enough to preempt too, and every page comes back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, cpuGreedy, greedy, MB32, prompts, runAlone, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

const LENGTHS = [1, 3, 7, 16, 17, 31, 33, 40, 5, 64, 65, 100, 2, 9, 50, 129];
const MAX_TOKENS = 6;

describe('continuous batching', () => {
  let alone: number[][];

  it('a request alone gives the same tokens through the paged engine as the CPU reference (f16 KV)', async () => {
    const gpu = await testGpu();
    const engine = await Engine.create(gpu, model, { cache: { pageSize: 16, memoryBytes: MB32 } });
    const [prompt] = prompts([45], 7);
    const paged = await runAlone(engine, prompt, greedy(MAX_TOKENS));
    assert.deepEqual(paged, await cpuGreedy(model, prompt, MAX_TOKENS, { dtype: 'f16' }));
    await engine.close();
  });

  it('16 concurrent greedy requests of different lengths produce exactly the tokens each produces alone', async () => {
    const gpu = await testGpu();
    const engine = await Engine.create(gpu, model, {
      cache: { pageSize: 16, memoryBytes: MB32 },
      scheduler: { maxNumBatchedTokens: 256, maxNumSeqs: 16 },
    });
    const ps = prompts(LENGTHS);
    alone = [];
    for (const p of ps) alone.push(await runAlone(engine, p, greedy(MAX_TOKENS)));
    const freeBefore = engine.stats().kv.freePages;
    const together = await Promise.all(
      ps.map((p) => collect(engine.generate({ promptTokenIds: p, sampling: greedy(MAX_TOKENS) }))),
    );
    for (const [i, r] of together.entries())
      assert.deepEqual(r.ids, alone[i], `request ${i} (prompt ${LENGTHS[i]} tokens)`);
    assert.equal(engine.stats().kv.freePages, freeBefore, 'every page is back after completion');
    await engine.close();
  });

  it('with a pool too small for all at once, all complete with the same tokens and preemptions are counted', async () => {
    const gpu = await testGpu();
    // 30 pages of 8 tokens = 240 tokens. Six prompts of 35-60 tokens growing by 24 each need ~440 together; each fits
    // alone. Running requests outgrow the pool while they decode, so the scheduler must preempt.
    const lengths = [40, 50, 60, 45, 55, 35];
    const ps = prompts(lengths, 13);
    const small = {
      cache: { pageSize: 8, numPages: 30, enablePrefixCaching: false },
      scheduler: { maxNumBatchedTokens: 128, maxNumSeqs: 16 },
    };
    const reference = await Engine.create(gpu, model, small);
    const expected: number[][] = [];
    for (const p of ps) expected.push(await runAlone(reference, p, greedy(24)));
    await reference.close();
    const engine = await Engine.create(gpu, model, small);
    const freeBefore = engine.stats().kv.freePages;
    const together = await Promise.all(
      ps.map((p) => collect(engine.generate({ promptTokenIds: p, sampling: greedy(24) }))),
    );
    for (const [i, r] of together.entries()) assert.deepEqual(r.ids, expected[i], `request ${i} under preemption`);
    assert.ok(engine.stats().preemptions > 0, `expected preemptions, stats: ${JSON.stringify(engine.stats())}`);
    assert.equal(engine.stats().kv.freePages, freeBefore);
    await engine.close();
  });

  it('aborts mid-generation free their pages at once; the others finish', async () => {
    const gpu = await testGpu();
    const engine = await Engine.create(gpu, model, {
      cache: { pageSize: 16, memoryBytes: MB32, enablePrefixCaching: false },
    });
    const freeBefore = engine.stats().kv.freePages;
    const ps = prompts([20, 30, 40, 50], 3);
    const controllers = ps.map(() => new AbortController());
    const runs = ps.map((p, i) => {
      const events = engine.generate({ promptTokenIds: p, sampling: greedy(40) }, controllers[i].signal);
      return (async () => {
        const ids: number[] = [];
        for await (const e of events) {
          if (e.type === 'token') {
            ids.push(...e.ids);
            if (i % 2 === 0 && ids.length === 3) controllers[i].abort();
          } else return { ids, reason: e.finishReason };
        }
        throw new Error('no done event');
      })();
    });
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      if (i % 2 === 0) {
        assert.equal(r.reason, 'abort');
        assert.ok(r.ids.length >= 3 && r.ids.length < 40, `aborted request ${i} generated ${r.ids.length}`);
      } else assert.equal(r.reason, 'length');
    });
    assert.equal(engine.stats().kv.freePages, freeBefore, 'pages of aborted and finished requests are back');
    await engine.close();
  });
});
