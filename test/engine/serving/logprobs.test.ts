/**
 * Logprobs through the engine: the sampled token's log-probability and its top alternatives, after penalties and
 * bias and before temperature, only for requests that ask. (The kernel itself is checked against its twin in
 * test/engine/gpu/logprobs.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine, type EngineEvent } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { TokenLogprob } from '../../../engine/serving/types.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { MB32, prompts, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
let engine: Engine;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
  engine = await Engine.create(await testGpu(), model, { cache: { pageSize: 16, memoryBytes: MB32 } });
});
after(async () => {
  await engine.close();
  await cleanup();
});

async function run(events: AsyncIterable<EngineEvent>): Promise<{ ids: number[]; logprobs: TokenLogprob[] | null }> {
  const ids: number[] = [];
  let logprobs: TokenLogprob[] | null = null;
  for await (const e of events) {
    if (e.type !== 'token') continue;
    ids.push(...e.ids);
    if (e.logprobs) logprobs = [...(logprobs ?? []), ...e.logprobs];
  }
  return { ids, logprobs };
}

const [prompt] = prompts([40], 9);

it('greedy: the sampled token is the most likely, logprobs sorted, <= 0, and only for requests that ask', async () => {
  const [asked, plain] = await Promise.all([
    run(
      engine.generate({
        promptTokenIds: prompt,
        sampling: { temperature: 0, maxTokens: 6, ignoreEos: true },
        logprobs: { topLogprobs: 5 },
      }),
    ),
    run(engine.generate({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 6, ignoreEos: true } })),
  ]);
  assert.equal(plain.logprobs, null, 'no logprobs for a request that did not ask');
  assert.deepEqual(asked.ids, plain.ids, 'asking for logprobs does not change the tokens');
  assert.equal(asked.logprobs?.length, 6);
  asked.logprobs!.forEach((lp, i) => {
    assert.equal(lp.id, asked.ids[i]);
    assert.equal(lp.top.length, 5);
    assert.equal(lp.top[0].id, lp.id, 'greedy picks the most likely token');
    assert.ok(Math.abs(lp.top[0].logprob - lp.logprob) < 1e-6);
    for (let k = 1; k < 5; k++) assert.ok(lp.top[k].logprob <= lp.top[k - 1].logprob);
    const mass = lp.top.reduce((m, t) => m + Math.exp(t.logprob), 0);
    assert.ok(lp.logprob <= 0 && mass <= 1 + 1e-5, `top-5 mass ${mass}`);
  });
});

it('are taken before temperature (the same at 0.3 and 3), and after logit bias', async () => {
  const first = async (temperature: number, bias?: Map<number, number>) =>
    (
      await run(
        engine.generate({
          promptTokenIds: prompt,
          sampling: { temperature, seed: 7, maxTokens: 1, ignoreEos: true },
          logprobs: { topLogprobs: 3 },
          ...(bias ? { logitBias: bias } : {}),
        }),
      )
    ).logprobs![0];
  const cold = await first(0.3);
  const hot = await first(3);
  assert.deepEqual(
    hot.top.map((t) => t.id),
    cold.top.map((t) => t.id),
  );
  hot.top.forEach((t, k) => {
    assert.ok(Math.abs(t.logprob - cold.top[k].logprob) < 1e-5);
  });
  const forced = 1000;
  const biased = await first(1, new Map([[forced, 100]]));
  assert.equal(biased.id, forced, 'a bias of +100 makes the token all but certain');
  assert.ok(biased.logprob > -1e-3 && biased.top[0].id === forced, JSON.stringify(biased));
});
