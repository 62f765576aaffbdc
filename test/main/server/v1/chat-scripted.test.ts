/**
 * /v1/chat/completions over a scripted engine: exact output text in, OpenAI's shapes out (the official client reads
 * them), and the engine request each body maps to. Reasoning and tool calls are parsed by engine/chat for the real
 * Qwen3 chat template.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MODEL, type Scripted, startScriptedServer, withExtras, writes } from './helpers.ts';

let s: Scripted;
before(async () => {
  s = await startScriptedServer();
});
after(() => s.close());

const user = [{ role: 'user' as const, content: 'hi' }];
const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const call = (city: string) => `<tool_call>\n{"name": "get_weather", "arguments": {"city": "${city}"}}\n</tool_call>`;

describe('chat completions, not streamed', () => {
  it('answers in OpenAI shape with usage and the plas report', async () => {
    s.set(writes([['Hello', ' world']]));
    const r = await s.client.chat.completions.create({ model: MODEL, messages: user });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.model, MODEL);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, 'Hello world');
    assert.equal(r.choices[0].finish_reason, 'stop');
    const prompt = s.requests.at(-1)!.promptTokenIds.length;
    assert.deepEqual(r.usage, {
      prompt_tokens: prompt,
      completion_tokens: 2,
      total_tokens: prompt + 2,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    const plas = (r as unknown as { plas: Record<string, unknown> }).plas;
    assert.equal(plas.backend, 'dense');
    assert.equal(plas.blocks_selected, 3);
    assert.equal(plas.plas_encoder_top_k_left, 50);
  });

  it('splits reasoning into reasoning_content', async () => {
    s.set(writes([['<think>\nfirst ', 'plan\n</think>\n\n', 'the answer']]));
    const r = await s.client.chat.completions.create({ model: MODEL, messages: user });
    const m = r.choices[0].message as (typeof r.choices)[0]['message'] & { reasoning_content?: string };
    assert.equal(m.reasoning_content, 'first plan');
    assert.equal(m.content, 'the answer');
  });

  it('returns parsed tool calls with finish_reason tool_calls', async () => {
    s.set(writes([[call('Paris'), '\n', call('Oslo')]]));
    const r = await s.client.chat.completions.create({ model: MODEL, messages: user, tools: [weather] });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'tool_calls');
    assert.equal(c.message.content, null);
    assert.equal(c.message.tool_calls?.length, 2);
    const first = c.message.tool_calls![0] as {
      id: string;
      type: string;
      function: { name: string; arguments: string };
    };
    assert.equal(first.type, 'function');
    assert.match(first.id, /^call_/);
    assert.equal(first.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(first.function.arguments), { city: 'Paris' });
    // The prompt was rendered with the tools (Qwen3's template lists them in <tools>).
    assert.equal(s.requests.at(-1)!.grammar, undefined, 'auto is free text');
  });

  it('keeps the first call only with parallel_tool_calls false', async () => {
    s.set(writes([[call('Paris'), '\n', call('Oslo')]]));
    const r = await s.client.chat.completions.create({
      model: MODEL,
      messages: user,
      tools: [weather],
      parallel_tool_calls: false,
    });
    assert.equal(r.choices[0].message.tool_calls?.length, 1);
  });

  it('maps tool_choice required and named to a tool-call grammar, and response_format to JSON grammars', async () => {
    s.set(writes([[call('Rome')]]));
    await s.client.chat.completions.create({ model: MODEL, messages: user, tools: [weather], tool_choice: 'required' });
    const required = s.requests.at(-1)!.grammar as { type: string; format: string; mode: string; tools: unknown[] };
    assert.equal(required.type, 'tool_calls');
    assert.equal(required.format, 'hermes');
    assert.equal(required.mode, 'required');
    assert.equal(required.tools.length, 1);
    await s.client.chat.completions.create({
      model: MODEL,
      messages: user,
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    assert.equal((s.requests.at(-1)!.grammar as { only?: string }).only, 'get_weather');
    s.set(writes([['{}']]));
    await s.client.chat.completions.create({ model: MODEL, messages: user, response_format: { type: 'json_object' } });
    assert.deepEqual(s.requests.at(-1)!.grammar, { type: 'json' });
    const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
    await s.client.chat.completions.create({
      model: MODEL,
      messages: user,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } },
    });
    assert.deepEqual(s.requests.at(-1)!.grammar, { type: 'json_schema', schema, strict: true });
    // tool_choice none: tools are not offered, nothing is parsed as a call.
    s.set(writes([[call('Rome')]]));
    const none = await s.client.chat.completions.create({
      model: MODEL,
      messages: user,
      tools: [weather],
      tool_choice: 'none',
    });
    assert.equal(none.choices[0].message.tool_calls, undefined);
    assert.match(none.choices[0].message.content ?? '', /<tool_call>/);
  });

  it('maps sampling fields, vLLM extras and the plas extension to the engine request', async () => {
    s.set(writes([['x']]));
    const openai = {
      model: MODEL,
      messages: user,
      temperature: 0.7,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: -1,
      stop: 'END',
      max_completion_tokens: 12,
      n: 2,
      logprobs: true,
      top_logprobs: 3,
      logit_bias: { '42': -100, '7': 5 },
    };
    const extras = {
      top_k: -1,
      min_p: 0.05,
      repetition_penalty: 1.1,
      min_tokens: 2,
      ignore_eos: true,
      include_stop_str_in_output: true,
      skip_special_tokens: false,
      stop_token_ids: [151643],
      plas: {
        backend: 'plas',
        plas_decoder_top_k_left: 8,
        plas_decoder_top_k_right: 16,
        dense_last_layer: false,
        topk_search: 'original',
        encoder_block_score: 'bound',
        decoder_block_score: 'bound-gate',
      },
    };
    await s.client.chat.completions.create(withExtras(openai, extras));
    const r = s.requests.at(-1)!;
    assert.deepEqual(r.sampling, {
      temperature: 0.7,
      topP: 0.9,
      topK: 0,
      minP: 0.05,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      repetitionPenalty: 1.1,
      seed: 2 ** 32 - 1,
      stop: ['END'],
      minTokens: 2,
      ignoreEos: true,
      includeStopStrInOutput: true,
      skipSpecialTokens: false,
      stopTokenIds: [151643],
      maxTokens: 12,
    });
    assert.equal(r.n, 2);
    assert.deepEqual(r.logprobs, { topLogprobs: 3 });
    assert.deepEqual(
      new Map(r.logitBias),
      new Map([
        [42, -100],
        [7, 5],
      ]),
    );
    assert.deepEqual(r.attention, {
      backend: 'plas',
      plas: {
        plas_decoder_top_k_left: 8,
        plas_decoder_top_k_right: 16,
        denseLastLayer: false,
        topkSearch: 'original',
        encoderBlockScore: 'bound',
        decoderBlockScore: 'bound-gate',
      },
    });
  });

  it('fills max_tokens with what the context leaves, within the server cap', async () => {
    s.set(writes([['x']]));
    await s.client.chat.completions.create({ model: MODEL, messages: user });
    const r = s.requests.at(-1)!;
    assert.equal(r.sampling?.maxTokens, 1024 - r.promptTokenIds.length);
  });

  it('renders thinking off with chat_template_kwargs and with reasoning_effort none', async () => {
    s.set(writes([['ok']]));
    await s.client.chat.completions.create({ model: MODEL, messages: user });
    const on = s.requests.at(-1)!.promptTokenIds.length;
    await s.client.chat.completions.create(
      withExtras({ model: MODEL, messages: user }, { chat_template_kwargs: { enable_thinking: false } }),
    );
    const off = s.requests.at(-1)!.promptTokenIds.length;
    assert.ok(off > on, 'Qwen3 closes an empty think block in the prompt when thinking is off');
    await s.client.chat.completions.create({ model: MODEL, messages: user, reasoning_effort: 'none' });
    assert.equal(s.requests.at(-1)!.promptTokenIds.length, off);
  });

  it('renders every role: system, developer, text parts, assistant tool calls, tool results', async () => {
    s.set(writes([['done']]));
    const r = await s.client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'developer', content: [{ type: 'text', text: 'really' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'weather?' },
            { type: 'text', text: 'in Paris' },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
      tools: [weather],
    });
    assert.equal(r.choices[0].message.content, 'done');
  });

  it('records metrics and the request log once per request', async () => {
    s.set(writes([['a', 'b', 'c']]));
    const before = s.records.length;
    await s.client.chat.completions.create({ model: MODEL, messages: user });
    assert.equal(s.records.length, before + 1);
    const rec = s.records.at(-1)!;
    assert.equal(rec.route, '/v1/chat/completions');
    assert.equal(rec.status, 200);
    assert.equal(rec.completionTokens, 3);
    assert.equal(rec.outcome, 'stop');
    assert.equal(rec.ttftMs, 5);
    assert.equal(rec.tokensPerSecond, 500);
    assert.deepEqual(s.metrics.finished.at(-1), ['/v1/chat/completions', 200]);
  });
});

describe('chat completions, streamed', () => {
  it('streams role, content deltas, finish_reason, usage and plas on the final chunk, then [DONE]', async () => {
    s.set(writes([['Hel', 'lo']]));
    const stream = await s.client.chat.completions.create({
      model: MODEL,
      messages: user,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, 'Hello');
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    assert.equal(finish?.choices[0].finish_reason, 'stop');
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.completion_tokens, 2);
    assert.ok((last as unknown as { plas: unknown }).plas);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
  });

  it('streams reasoning_content and tool calls as incremental deltas the SDK assembles', async () => {
    s.set(writes([['<think>hmm', '</think>', call('Paris').slice(0, 20), call('Paris').slice(20)]]));
    const runner = s.client.chat.completions.stream({ model: MODEL, messages: user, tools: [weather] });
    let reasoning = '';
    for await (const c of runner)
      reasoning += (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    const final = await runner.finalChatCompletion();
    assert.equal(reasoning, 'hmm');
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    const calls = final.choices[0].message.tool_calls!;
    assert.equal(calls.length, 1);
    assert.deepEqual(JSON.parse((calls[0] as { function: { arguments: string } }).function.arguments), {
      city: 'Paris',
    });
  });

  it('streams n choices, each with its own index and finish chunk', async () => {
    s.set(writes([['a', 'b'], ['c']]));
    const stream = await s.client.chat.completions.create({ model: MODEL, messages: user, stream: true, n: 2 });
    const text = ['', ''];
    const finished = new Set<number>();
    for await (const c of stream) {
      for (const ch of c.choices) {
        text[ch.index] += ch.delta.content ?? '';
        if (ch.finish_reason) finished.add(ch.index);
      }
    }
    assert.deepEqual(text, ['ab', 'c']);
    assert.deepEqual([...finished].sort(), [0, 1]);
  });

  it('sends an error chunk (which the SDK throws) when the engine fails mid-stream', async () => {
    s.set(async function* () {
      yield { type: 'token', index: 0, ids: [1], text: 'partial' };
      throw new Error('kernel exploded');
    });
    const stream = await s.client.chat.completions.create({ model: MODEL, messages: user, stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) {
        }
      })(),
      /kernel exploded/,
    );
    assert.equal(s.records.at(-1)!.status, 500);
  });
});
