/**
 * /v1/chat/completions end to end: the real server, a tiny random Qwen3 model on SwiftShader, the official client.
 * Random weights write gibberish, so the tests assert structure (counts, parses, schemas, equalities), not content.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MODEL, startV1Server, type V1Server, withExtras } from './helpers.ts';

let s: V1Server;
before(async () => {
  s = await startV1Server();
});
after(() => s?.stop());

const user = (content = 'Tell me a story.') => [{ role: 'user' as const, content }];
const greedy = { model: MODEL, temperature: 0, max_tokens: 8 };
const ignoreEos = { ignore_eos: true };

describe('chat completions on the engine', () => {
  it('greedy, streamed and not, give the same text; usage counts the tokens', async () => {
    const r = await s.client.chat.completions.create(withExtras({ ...greedy, messages: user() }, ignoreEos));
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage?.completion_tokens, 8);
    assert.ok((r.usage?.prompt_tokens ?? 0) > 5);
    assert.equal(r.usage?.total_tokens, (r.usage?.prompt_tokens ?? 0) + 8);
    const stream = await s.client.chat.completions.create(
      withExtras({ ...greedy, messages: user(), stream: true, stream_options: { include_usage: true } }, ignoreEos),
    );
    let text = '';
    let usage = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, r.choices[0].message.content);
    assert.equal(usage?.completion_tokens, 8);
  });

  it('the same seed samples the same text; n=2 gives two choices', async () => {
    const body = withExtras({ model: MODEL, messages: user(), temperature: 1, seed: 1234, max_tokens: 6 }, ignoreEos);
    const a = await s.client.chat.completions.create(body);
    const b = await s.client.chat.completions.create(body);
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    const two = await s.client.chat.completions.create({ ...body, n: 2 });
    assert.equal(two.choices.length, 2);
    assert.deepEqual(
      two.choices.map((c) => c.index),
      [0, 1],
    );
    // Choice 0 of n equals a single request with the same seed.
    assert.equal(two.choices[0].message.content, a.choices[0].message.content);
    assert.equal(two.usage?.completion_tokens, 12);
    assert.equal(two.usage?.prompt_tokens, a.usage?.prompt_tokens);
  });

  it('logprobs come in OpenAI shape, one per token, with top_logprobs alternatives', async () => {
    const r = await s.client.chat.completions.create(
      withExtras({ ...greedy, max_tokens: 5, messages: user(), logprobs: true, top_logprobs: 3 }, ignoreEos),
    );
    const content = r.choices[0].logprobs?.content ?? [];
    assert.equal(content.length, 5);
    for (const t of content) {
      assert.equal(typeof t.token, 'string');
      assert.ok(t.logprob <= 0);
      assert.ok(Array.isArray(t.bytes));
      assert.equal(t.top_logprobs.length, 3);
      // Greedy: the sampled token is the most likely one.
      assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-3);
    }
    assert.equal(content.map((t) => t.token).join(''), r.choices[0].message.content);
    const stream = await s.client.chat.completions.create(
      withExtras(
        { ...greedy, max_tokens: 5, messages: user(), logprobs: true, top_logprobs: 3, stream: true },
        ignoreEos,
      ),
    );
    const streamed = [];
    for await (const c of stream) streamed.push(...(c.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(
      streamed.map((t) => t.token),
      content.map((t) => t.token),
    );
  });

  it('a stop string ends the output before it (or with it, when asked)', async () => {
    const free = await s.client.chat.completions.create(
      withExtras({ ...greedy, max_tokens: 24, messages: user() }, ignoreEos),
    );
    const text = free.choices[0].message.content ?? '';
    assert.ok(text.length > 6, `greedy text too short for the test: ${JSON.stringify(text)}`);
    const stop = text.slice(3, 6);
    const cut = await s.client.chat.completions.create(
      withExtras({ ...greedy, max_tokens: 24, messages: user(), stop: [stop] }, ignoreEos),
    );
    assert.equal(cut.choices[0].message.content, text.slice(0, text.indexOf(stop)));
    assert.equal(cut.choices[0].finish_reason, 'stop');
    assert.equal((cut.choices[0] as unknown as { stop_reason: string }).stop_reason, stop);
    const kept = await s.client.chat.completions.create(
      withExtras(
        { ...greedy, max_tokens: 24, messages: user(), stop },
        { ...ignoreEos, include_stop_str_in_output: true },
      ),
    );
    assert.equal(kept.choices[0].message.content, text.slice(0, text.indexOf(stop) + stop.length));
  });

  it('logit_bias +100 forces a token', async () => {
    const r = await s.client.chat.completions.create(
      withExtras({ ...greedy, max_tokens: 4, messages: user(), logit_bias: { '64': 100 } }, ignoreEos),
    );
    assert.equal(r.choices[0].message.content, 'aaaa'); // Qwen3's id 64 is "a"
  });

  it('the plas extension runs the request sparse and reports what it attended', async () => {
    const r = await s.client.chat.completions.create(
      withExtras({ ...greedy, max_tokens: 4, messages: user() }, { ...ignoreEos, plas: { backend: 'plas' } }),
    );
    const plas = (r as unknown as { plas: Record<string, number | string> }).plas;
    assert.equal(plas.backend, 'plas');
    for (const key of ['prefill_density', 'decode_density', 'blocks_selected', 'blocks_candidate']) {
      assert.equal(typeof plas[key], 'number', key);
    }
    const dense = await s.client.chat.completions.create(
      withExtras({ ...greedy, max_tokens: 4, messages: user() }, { ...ignoreEos, plas: { backend: 'dense' } }),
    );
    assert.equal((dense as unknown as { plas: { backend: string } }).plas.backend, 'dense');
  });
});
