/** n completions of one prompt: the prompt's pages are shared, and choice i equals a single request with seed + i. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine, type EngineEvent } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, MB32, prompts, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

const PAGE = 16;
const sampled = { temperature: 1, topP: 0.9, maxTokens: 10, ignoreEos: true, seed: 1234 };

async function freshEngine(): Promise<Engine> {
  return Engine.create(await testGpu(), model, { cache: { pageSize: PAGE, memoryBytes: MB32 } });
}

/** Per choice index: the ids and the done event. */
async function byChoice(events: AsyncIterable<EngineEvent>) {
  const out = new Map<number, { ids: number[]; done?: Extract<EngineEvent, { type: 'done' }> }>();
  for await (const e of events) {
    const c = out.get(e.index) ?? { ids: [] };
    out.set(e.index, c);
    if (e.type === 'token') c.ids.push(...e.ids);
    else c.done = e;
  }
  return out;
}

it('n = 4 computes the prompt once and each choice equals a single request with seed + i', async () => {
  const [prompt] = prompts([100], 5); // 6 full pages of 16 and 4 tokens on a seventh
  const shared = await freshEngine();
  const choices = await byChoice(shared.generate({ promptTokenIds: prompt, sampling: sampled, n: 4 }));
  const stats = shared.stats();
  await shared.close();
  assert.deepEqual([...choices.keys()].sort(), [0, 1, 2, 3]);
  // The prompt's full pages are computed by choice 0 and found in the prefix cache by the other three (their last,
  // partial page is recomputed: 4 tokens each).
  const fullPages = Math.floor((prompt.length - 1) / PAGE) * PAGE;
  assert.equal(stats.prefixCache.hitTokens, 3 * fullPages);
  assert.equal(stats.computedTokens, prompt.length + 3 * (prompt.length - fullPages) + 4 * (10 - 1));
  for (const [i, c] of choices) {
    assert.equal(c.done?.usage.promptTokens, prompt.length);
    assert.equal(c.done?.usage.completionTokens, 10);
    assert.equal(c.done?.finishReason, 'length');
    const alone = await freshEngine();
    const single = await collect(
      alone.generate({ promptTokenIds: prompt, sampling: { ...sampled, seed: sampled.seed + i } }),
    );
    await alone.close();
    assert.deepEqual(c.ids, single.ids, `choice ${i} equals a single request with seed ${sampled.seed + i}`);
  }
  const distinct = new Set([...choices.values()].map((c) => c.ids.join(',')));
  assert.ok(distinct.size > 1, 'independent seed streams give different samples');
});
