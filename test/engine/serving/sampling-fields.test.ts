/**
 * The sampling fields vLLM and llama.cpp users expect (min_tokens, ignore_eos, stop strings and ids without a cap,
 * include_stop_str_in_output, skip_special_tokens, logit_bias) and the model's generation_config.json defaults for
 * every field a request leaves out. EOS is forced with a logit bias, so these tests run the real EOS path.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { InvalidRequestError } from '../../../engine/serving/errors.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32, prompts, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
let engine: Engine;
let eos: number;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
  engine = await Engine.create(await testGpu(), model, { cache: { pageSize: 16, memoryBytes: MB32 } });
  eos = model.config.eosTokenIds[0];
});
after(async () => {
  await engine.close();
  await cleanup();
});

const [prompt] = prompts([24], 11);
const forceEos = () => new Map([[eos, 100]]);

it('EOS ends a request at once; min_tokens masks it until then; ignore_eos runs to max_tokens', async () => {
  const first = await collect(
    engine.generate({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 20 }, logitBias: forceEos() }),
  );
  assert.equal(first.done.finishReason, 'stop');
  assert.equal(first.done.stoppedBy, null, 'EOS, not a stop token id');
  assert.deepEqual(first.ids, [], 'EOS is not shown');
  assert.equal(first.done.usage.completionTokens, 1);
  const min = await collect(
    engine.generate({
      promptTokenIds: prompt,
      sampling: { temperature: 0, maxTokens: 20, minTokens: 5 },
      logitBias: forceEos(),
    }),
  );
  assert.equal(min.ids.length, 5, 'five tokens before EOS could be sampled');
  assert.equal(min.done.usage.completionTokens, 6);
  assert.ok(!min.ids.includes(eos));
  const ignored = await collect(
    engine.generate({
      promptTokenIds: prompt,
      sampling: { temperature: 0, maxTokens: 7, ignoreEos: true },
      logitBias: forceEos(),
    }),
  );
  assert.equal(ignored.done.finishReason, 'length');
  assert.equal(ignored.done.usage.completionTokens, 7);
});

it('a stop token id ends it and is reported; any number of stop strings is accepted', async () => {
  const plain = await collect(engine.generate({ promptTokenIds: prompt, sampling: greedy(6) }));
  const third = plain.ids[2];
  const r = await collect(
    engine.generate({ promptTokenIds: prompt, sampling: { ...greedy(6), ignoreEos: false, stopTokenIds: [third] } }),
  );
  assert.equal(r.done.finishReason, 'stop');
  assert.equal(r.done.stoppedBy, third);
  assert.deepEqual(r.ids, plain.ids.slice(0, plain.ids.indexOf(third)));
  const many = Array.from({ length: 100 }, (_, i) => `never-seen-${i}`);
  const s = await collect(engine.generate({ promptTokenIds: prompt, sampling: greedy(6, { stop: many }) }));
  assert.equal(s.done.finishReason, 'length');
  assert.equal(s.text, plain.text);
});

it('stop strings: excluded or included, and reported', async () => {
  const plain = await collect(engine.generate({ promptTokenIds: prompt, sampling: greedy(12) }));
  const stop = plain.text.slice(Math.floor(plain.text.length / 2), Math.floor(plain.text.length / 2) + 2);
  assert.ok(stop.length === 2, `a stop string from the output: ${JSON.stringify(plain.text)}`);
  const cut = plain.text.indexOf(stop);
  const excluded = await collect(engine.generate({ promptTokenIds: prompt, sampling: greedy(12, { stop: [stop] }) }));
  assert.equal(excluded.text, plain.text.slice(0, cut));
  assert.equal(excluded.done.finishReason, 'stop');
  assert.equal(excluded.done.stoppedBy, stop);
  const included = await collect(
    engine.generate({ promptTokenIds: prompt, sampling: greedy(12, { stop: [stop], includeStopStrInOutput: true }) }),
  );
  assert.equal(included.text, plain.text.slice(0, cut + stop.length));
});

it('skip_special_tokens false shows special tokens in the text', async () => {
  const special = model.tokenizer.tokenToId('<|start_header_id|>')!;
  assert.ok(model.tokenizer.isSpecial(special));
  const bias = new Map([[special, 100]]);
  const shown = await collect(
    engine.generate({ promptTokenIds: prompt, sampling: greedy(2, { skipSpecialTokens: false }), logitBias: bias }),
  );
  const hidden = await collect(engine.generate({ promptTokenIds: prompt, sampling: greedy(2), logitBias: bias }));
  assert.equal(shown.text, model.tokenizer.decode([special, special]));
  assert.equal(hidden.text, '');
});

it("fields a request leaves out take the model's generation_config.json defaults", async () => {
  const defaults = engine.stats().samplingDefaults;
  assert.equal(defaults.temperature, 0.6, 'the fixture ships temperature 0.6, top_p 0.9 (Llama 3)');
  // Without temperature or seed, two runs sample (the model's 0.6): with a seed they repeat.
  const seeded = (seed: number) =>
    collect(engine.generate({ promptTokenIds: prompt, sampling: { seed, maxTokens: 6, ignoreEos: true } }));
  const [a, b] = [await seeded(3), await seeded(3)];
  assert.deepEqual(a.ids, b.ids);
  const greedyRun = await collect(engine.generate({ promptTokenIds: prompt, sampling: greedy(6) }));
  const runs = await Promise.all([1, 2, 4].map(seeded));
  assert.ok(
    runs.some((r) => r.ids.join() !== greedyRun.ids.join()),
    'the default is sampling, not greedy',
  );
  // Left out, max_tokens is what the context and the KV cache leave (the tiny model ships no max_new_tokens).
  const small = await Engine.create(await testGpu(), model, { cache: { pageSize: 16, numPages: 3 } });
  const long = await collect(small.generate({ promptTokenIds: prompt, sampling: { temperature: 0, ignoreEos: true } }));
  await small.close();
  assert.equal(long.done.finishReason, 'length');
  assert.equal(long.done.usage.completionTokens, 3 * 16 - prompt.length + 1, 'max_tokens: all the KV cache leaves');
});

it('bad fields are typed errors naming the field, from the iterator, never thrown by generate()', async () => {
  const cases: [Parameters<Engine['generate']>[0], string][] = [
    [{ promptTokenIds: [], sampling: {} }, 'promptTokenIds'],
    [{ promptTokenIds: [model.config.vocabSize], sampling: {} }, 'promptTokenIds[0]'],
    [{ promptTokenIds: prompt, sampling: { topP: 2 } }, 'sampling'],
    [{ promptTokenIds: prompt, sampling: {}, n: 0 }, 'n'],
    [{ promptTokenIds: prompt, sampling: {}, logprobs: { topLogprobs: 21 } }, 'logprobs.topLogprobs'],
    [{ promptTokenIds: prompt, sampling: {}, logitBias: new Map([[-1, 1]]) }, 'logitBias[-1]'],
  ];
  for (const [request, field] of cases) {
    const events = engine.generate(request);
    await assert.rejects(collect(events), (e: unknown) => e instanceof InvalidRequestError && e.field === field, field);
  }
  const r = await collect(
    engine.generate({ promptTokenIds: prompt, sampling: greedy(1), logitBias: new Map([[5, 1e9]]) }),
  );
  assert.deepEqual(r.ids, [5], 'a bias beyond 100 is clamped, not refused');
});
