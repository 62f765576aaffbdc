/** /v1/completions end to end on the tiny random Qwen3 model, with the official client. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MODEL, startV1Server, type V1Server, withExtras } from './helpers.ts';

let s: V1Server;
before(async () => {
  s = await startV1Server();
});
after(() => s?.stop());

const base = { model: MODEL, temperature: 0, max_tokens: 6 };
const ignoreEos = { ignore_eos: true };

describe('completions on the engine', () => {
  it('a text prompt: text, finish reason and usage; streamed text is the same', async () => {
    const r = await s.client.completions.create(withExtras({ ...base, prompt: 'Once upon a time' }, ignoreEos));
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage?.completion_tokens, 6);
    assert.equal(r.usage?.prompt_tokens, 4);
    const stream = await s.client.completions.create(
      withExtras(
        { ...base, prompt: 'Once upon a time', stream: true, stream_options: { include_usage: true } },
        ignoreEos,
      ),
    );
    let text = '';
    let usage = null;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, r.choices[0].text);
    assert.equal(usage?.completion_tokens, 6);
  });

  it('a list of prompts and n: one choice set per prompt, indexed prompt * n + i', async () => {
    const prompts = ['The cat', 'A dog barked at'];
    const r = await s.client.completions.create(
      withExtras({ ...base, prompt: prompts, n: 2, temperature: 1, seed: 9 }, ignoreEos),
    );
    assert.deepEqual(
      r.choices.map((c) => c.index),
      [0, 1, 2, 3],
    );
    assert.equal(r.usage?.completion_tokens, 24);
    const one = await s.client.completions.create(
      withExtras({ ...base, prompt: prompts[1], temperature: 1, seed: 9 }, ignoreEos),
    );
    assert.equal(r.choices[2].text, one.choices[0].text);
    assert.equal(r.usage?.prompt_tokens, 2 + (one.usage?.prompt_tokens ?? 0));
  });

  it('token id prompts, one or several, equal their text', async () => {
    const text = await s.client.completions.create(withExtras({ ...base, prompt: 'Hello world' }, ignoreEos));
    const ids = await s.client.completions.create(withExtras({ ...base, prompt: [9707, 1879] }, ignoreEos));
    assert.equal(ids.choices[0].text, text.choices[0].text);
    const many = await s.client.completions.create(withExtras({ ...base, prompt: [[9707, 1879], [9707]] }, ignoreEos));
    assert.equal(many.choices.length, 2);
    assert.equal(many.choices[0].text, text.choices[0].text);
  });

  it('echo puts the prompt first, streamed and not', async () => {
    const r = await s.client.completions.create(withExtras({ ...base, prompt: 'Echo me', echo: true }, ignoreEos));
    assert.ok(r.choices[0].text.startsWith('Echo me'));
    const stream = await s.client.completions.create(
      withExtras({ ...base, prompt: 'Echo me', echo: true, stream: true }, ignoreEos),
    );
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    assert.equal(text, r.choices[0].text);
  });

  it('logprobs in the completions shape', async () => {
    const r = await s.client.completions.create(
      withExtras({ ...base, prompt: 'Count: 1, 2,', logprobs: 2 }, ignoreEos),
    );
    const lp = r.choices[0].logprobs!;
    assert.equal(lp.tokens?.length, 6);
    assert.equal(lp.token_logprobs?.length, 6);
    assert.equal(lp.top_logprobs?.length, 6);
    assert.equal(lp.text_offset?.length, 6);
    assert.equal(lp.tokens?.join(''), r.choices[0].text);
    assert.equal(lp.text_offset?.[0], 0);
    for (let i = 1; i < 6; i++) assert.ok((lp.text_offset?.[i] ?? 0) >= (lp.text_offset?.[i - 1] ?? 0));
    for (const top of lp.top_logprobs ?? []) {
      const n = Object.keys(top).length;
      assert.ok(n >= 1 && n <= 2);
    }
  });
});
