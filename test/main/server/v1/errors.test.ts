/**
 * Every error a /v1 client can get, over a scripted engine: the status, OpenAI's error body naming the field
 * (`param`) and `code`, Retry-After where a retry helps, and the SDK's matching error class.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { GrammarError } from '../../../../engine/grammar/errors.ts';
import { EngineClosedError, GpuDeviceLostError } from '../../../../engine/serving/errors.ts';
import { ModelBusyError } from '../../../../main/server/context.ts';
import { http } from '../server-fixture.ts';
import { ATTENTION, MODEL, type Scripted, startScriptedServer, writes } from './helpers.ts';

let s: Scripted;
before(async () => {
  s = await startScriptedServer({
    maxN: 4,
    maxTokens: 100,
    maxStop: 2,
    maxTools: 2,
    maxSchemaBytes: 200,
    maxWaiting: 3,
  });
});
after(() => s.close());

const messages = [{ role: 'user', content: 'hi' }];
const chat = (body: Record<string, unknown>) =>
  http(s.port, '/v1/chat/completions', { method: 'POST', body: { model: MODEL, messages, ...body } });
const tool = (name: string, parameters: unknown = { type: 'object' }) => ({
  type: 'function',
  function: { name, parameters },
});

async function expect400(
  body: Record<string, unknown>,
  param: string | null,
  pattern?: RegExp,
  path = '/v1/chat/completions',
) {
  s.set(writes([['x']]));
  const full = path === '/v1/chat/completions' ? { model: MODEL, messages, ...body } : { model: MODEL, ...body };
  const r = await http(s.port, path, { method: 'POST', body: full });
  assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} -> ${r.status} ${r.body.slice(0, 200)}`);
  const e = r.json().error;
  assert.equal(e.type, 'invalid_request_error');
  assert.equal(e.param, param, e.message);
  if (pattern) assert.match(e.message, pattern);
  return e;
}

describe('400: the body names the field', () => {
  it('schema errors name the path', async () => {
    await expect400({ messages: undefined }, 'messages');
    await expect400({ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role');
    await expect400({ temperature: '0.5' }, 'temperature');
    await expect400({ temperature: 3 }, 'temperature');
    await expect400({ top_p: 0 }, 'top_p');
    await expect400({ max_tokens: 0 }, 'max_tokens');
    await expect400({ n: 1e308 }, 'n');
    await expect400({ seed: 1.5 }, 'seed');
    await expect400({ stop: [''] }, 'stop[0]');
    await expect400({ logit_bias: { abc: 1 } }, 'logit_bias.abc');
    await expect400({ tools: [{ type: 'retrieval' }] }, 'tools[0].type');
    await expect400({ plas: { plas_encoder_top_k_lft: 3 } }, 'plas.plas_encoder_top_k_lft');
    await expect400({ messages: [] }, 'messages');
  });

  it('rules the schema cannot say name the field too', async () => {
    await expect400(
      { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
      'messages[0].content[0].type',
      /not supported/,
    );
    await expect400({ messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id');
    await expect400({ messages: [{ role: 'user', content: null }] }, 'messages[0].content');
    await expect400({ top_logprobs: 2 }, 'top_logprobs', /logprobs: true/);
    await expect400({ plas: { plas_block_size: 64 } }, 'plas.plas_block_size', /fixed when the model loads/);
    await expect400({ keep_alive: 'soon' }, 'keep_alive');
    await expect400({ tool_choice: 'required' }, 'tool_choice', /needs tools/);
    await expect400(
      { tools: [tool('a')], tool_choice: { type: 'function', function: { name: 'b' } } },
      'tool_choice',
      /no tool named "b"/,
    );
    await expect400({ tools: [tool('a'), tool('a')] }, 'tools[1]', /second tool/);
    await expect400({ logit_bias: { '999999999': 1 } }, 'logit_bias.999999999', /not a token id/);
    await expect400({ stop_token_ids: [10_000_000] }, 'stop_token_ids[0]');
    await expect400({ chat_template_kwargs: { messages: [] } }, 'chat_template_kwargs.messages');
  });

  it("the server's caps: n, max_tokens, stop strings, tools, schema bytes", async () => {
    await expect400({ n: 5 }, 'n', /at most 4/);
    await expect400({ max_tokens: 101 }, 'max_tokens', /at most 100/);
    await expect400({ stop: ['a', 'b', 'c'] }, 'stop', /at most 2/);
    await expect400({ tools: [tool('a'), tool('b'), tool('c')] }, 'tools', /at most 2/);
    const big = { type: 'object', properties: { field: { type: 'string', description: 'x'.repeat(300) } } };
    await expect400({ tools: [tool('a', big)] }, 'tools[0].parameters', /bytes/);
    await expect400(
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: big } } },
      'response_format.json_schema.schema',
      /bytes/,
    );
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { a: deep } };
    await expect400({ response_format: { type: 'json_object' }, tools: [tool('a', deep)] }, 'tools[0].parameters');
  });

  it('a prompt or max_tokens past the context is context_length_exceeded with both numbers', async () => {
    const long = 'word '.repeat(1100);
    const e = await expect400({ messages: [{ role: 'user', content: long }] }, 'messages');
    assert.equal(e.code, 'context_length_exceeded');
    assert.match(e.message, /1024 tokens/);
    assert.match(e.message, /\d{4} tokens/);
    const m = await expect400(
      { max_tokens: 100, messages: [{ role: 'user', content: 'word '.repeat(990) }] },
      'max_tokens',
    );
    assert.equal(m.code, 'context_length_exceeded');
    const c = await expect400({ prompt: 'word '.repeat(1100) }, 'prompt', undefined, '/v1/completions');
    assert.equal(c.code, 'context_length_exceeded');
  });

  it('refused features say so: suffix, echo with logprobs, best_of, previous_response_id, non-function tools', async () => {
    await expect400({ prompt: 'a', suffix: 'b' }, 'suffix', /fill-in-the-middle/, '/v1/completions');
    await expect400({ prompt: 'a', echo: true, logprobs: 1 }, 'echo', undefined, '/v1/completions');
    await expect400({ prompt: 'a', n: 1, best_of: 2 }, 'best_of', undefined, '/v1/completions');
    await expect400({ prompt: [1, 2, 999_999_999] }, 'prompt[2]', /not a token id/, '/v1/completions');
    await expect400(
      { input: 'x', previous_response_id: 'resp_1' },
      'previous_response_id',
      /does not store/,
      '/v1/responses',
    );
    await expect400(
      { input: 'x', tools: [{ type: 'web_search' }] },
      'tools[0].type',
      /only "function"/,
      '/v1/responses',
    );
    await expect400({ input: [{ type: 'item_reference', id: 'x' }] }, 'input[0].type', undefined, '/v1/responses');
  });

  it('a grammar the engine refuses at the start is a 400 naming the schema, streamed or not', async () => {
    const refuse: Parameters<Scripted['set']>[0] = async function* () {
      yield* [];
      throw new GrammarError('grammar.schema.properties.a', 'uses "patternProperties", which is not supported');
    };
    const body = { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } } };
    for (const stream of [false, true]) {
      s.set(refuse);
      const r = await chat({ ...body, stream });
      assert.equal(r.status, 400);
      assert.equal(r.json().error.param, 'response_format.json_schema.schema.properties.a');
    }
  });

  it('bad JSON, a wrong content type and a body past 8 MiB', async () => {
    const bad = await http(s.port, '/v1/chat/completions', { method: 'POST', body: '{"model": ' });
    assert.equal(bad.status, 400);
    assert.ok(bad.json().error.message);
    const text = await http(s.port, '/v1/chat/completions', {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 400);
    assert.match(text.json().error.message, /the request body: must be object/);
    const xml = await http(s.port, '/v1/chat/completions', {
      method: 'POST',
      body: '<a/>',
      headers: { 'content-type': 'application/xml' },
    });
    assert.equal(xml.status, 415);
    const huge = await http(s.port, '/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(9 * 2 ** 20) }] }),
    });
    assert.equal(huge.status, 413);
  });
});

describe('404, 429, 503, 500', () => {
  it('an unknown model is 404 model_not_found (NotFoundError in the SDK)', async () => {
    const r = await chat({ model: 'gpt-17' });
    assert.equal(r.status, 404);
    assert.equal(r.json().error.code, 'model_not_found');
    assert.equal(r.json().error.param, 'model');
    await assert.rejects(
      s.client.chat.completions.create({ model: 'gpt-17', messages: [{ role: 'user', content: 'x' }] }),
      OpenAI.NotFoundError,
    );
    assert.equal((await http(s.port, '/v1/models/gpt-17')).status, 404);
  });

  it('a long queue is 429 with Retry-After', async () => {
    s.set(writes([['x']]), { waiting: 3 });
    const r = await chat({});
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.json().error.code, 'queue_full');
    await assert.rejects(
      s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
      OpenAI.RateLimitError,
    );
    s.set(writes([['x']]), { waiting: 2 });
    assert.equal((await chat({})).status, 200);
  });

  it('a model busy or closing under a request is 503 with Retry-After', async () => {
    s.failAcquire(new ModelBusyError('other', MODEL, 2));
    const busy = await chat({});
    s.failAcquire(null);
    assert.equal(busy.status, 503);
    assert.equal(busy.json().error.code, 'model_busy');
    assert.ok(busy.headers['retry-after']);
    s.set(async function* () {
      yield* [];
      throw new EngineClosedError();
    });
    for (const stream of [false, true]) {
      const closed = await chat({ stream });
      assert.equal(closed.status, 503, closed.body);
    }
    // The engine closed mid-generation: the choice ends with 'abort' though the client is still there.
    s.set(async function* (request) {
      yield { type: 'token', index: 0, ids: [1], text: 'par' };
      yield {
        type: 'done',
        index: 0,
        finishReason: 'abort',
        stoppedBy: null,
        usage: { promptTokens: request.promptTokenIds.length, completionTokens: 1, cachedPromptTokens: 0 },
        timings: { timeToFirstTokenMs: 1, timePerOutputTokenMs: 0, totalMs: 1 },
        attention: ATTENTION,
      };
    });
    assert.equal((await chat({})).status, 503);
  });

  it('an engine fault is 500 (and recorded as such)', async () => {
    s.set(async function* () {
      yield* [];
      throw new GpuDeviceLostError('destroyed');
    });
    const r = await chat({});
    assert.equal(r.status, 500);
    assert.equal(r.json().error.type, 'server_error');
    assert.equal(r.json().error.code, 'gpu_device_lost');
    assert.equal(s.records.at(-1)!.status, 500);
    assert.equal(s.records.at(-1)!.outcome, 'gpu_device_lost');
  });

  it('requests refused by the schema are recorded once too', async () => {
    const before = s.metrics.finished.length;
    await chat({ temperature: 'hot' });
    assert.deepEqual(s.metrics.finished.slice(before), [['/v1/chat/completions', 400]]);
  });
});
