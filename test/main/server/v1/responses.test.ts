/**
 * /v1/responses: the stateless subset, with the official client's `responses.create` and `responses.stream` (whose
 * accumulator checks the event order). Item shapes over a scripted engine (exact reasoning and tool-call text); the
 * round trip on the real tiny model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MODEL,
  type Scripted,
  startScriptedServer,
  startV1Server,
  type V1Server,
  withExtras,
  writes,
} from './helpers.ts';

let scripted: Scripted;
let real: V1Server;
before(async () => {
  scripted = await startScriptedServer();
  real = await startV1Server();
});
after(async () => {
  await scripted?.close();
  await real?.stop();
});

const tools = [
  {
    type: 'function' as const,
    name: 'shell',
    description: 'Run a command',
    parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
    strict: false,
  },
];
const call = '<tool_call>\n{"name": "shell", "arguments": {"cmd": "ls"}}\n</tool_call>';

describe('responses over a scripted engine', () => {
  it('output items: reasoning, message, function_call; usage; store false', async () => {
    scripted.set(writes([['<think>look first</think>', 'Listing.', '\n', call]]));
    const r = await scripted.client.responses.create({ model: MODEL, input: 'list files', tools, store: true });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal((r as unknown as { store: boolean }).store, false);
    assert.deepEqual(
      r.output.map((o) => o.type),
      ['reasoning', 'message', 'function_call'],
    );
    const reasoning = r.output[0] as { content?: { text: string }[] };
    assert.equal(reasoning.content?.[0].text, 'look first');
    assert.equal(r.output_text, 'Listing.');
    const fc = r.output[2] as { name: string; arguments: string; call_id: string };
    assert.equal(fc.name, 'shell');
    assert.deepEqual(JSON.parse(fc.arguments), { cmd: 'ls' });
    assert.match(fc.call_id, /^call_/);
    assert.equal(r.usage?.output_tokens, 4);
    assert.equal(r.usage?.total_tokens, (r.usage?.input_tokens ?? 0) + 4);
  });

  it('streams typed events in order; the SDK assembles the same response', async () => {
    scripted.set(writes([['<think>a', 'b</think>', 'Hi', ' there', call]]));
    const stream = scripted.client.responses.stream({ model: MODEL, input: 'hello', tools });
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    const final = await stream.finalResponse();
    assert.equal(types[0], 'response.created');
    assert.equal(types[1], 'response.in_progress');
    assert.equal(types.at(-1), 'response.completed');
    for (const t of [
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
    ]) {
      assert.ok(types.includes(t), t);
    }
    assert.equal(final.output_text, 'Hi there');
    assert.deepEqual(
      final.output.map((o) => o.type),
      ['reasoning', 'message', 'function_call'],
    );
  });

  it('input items: messages, function calls and their outputs, instructions, as one conversation', async () => {
    scripted.set(writes([['ok']]));
    const r = await scripted.client.responses.create({
      model: MODEL,
      instructions: 'You are a shell assistant.',
      input: [
        { role: 'user', content: 'list files' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'use ls' }] },
        { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"cmd":"ls"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'a.txt' },
        { role: 'user', content: [{ type: 'input_text', text: 'and now?' }] },
      ],
      tools,
    });
    assert.equal(r.output_text, 'ok');
    assert.ok(scripted.requests.at(-1)!.promptTokenIds.length > 20);
  });

  it('max_output_tokens reached: status incomplete with the reason', async () => {
    scripted.set(writes([['cut'], ['cut']], 'length'));
    const r = await scripted.client.responses.create({ model: MODEL, input: 'x', max_output_tokens: 1 });
    assert.equal(r.status, 'incomplete');
    assert.equal(r.incomplete_details?.reason, 'max_output_tokens');
    assert.equal(scripted.requests.at(-1)!.sampling?.maxTokens, 1);
  });

  it('tool_choice required and text.format map to grammars', async () => {
    scripted.set(writes([[call]]));
    await scripted.client.responses.create({ model: MODEL, input: 'x', tools, tool_choice: 'required' });
    assert.equal((scripted.requests.at(-1)!.grammar as { mode: string }).mode, 'required');
    await scripted.client.responses.create({
      model: MODEL,
      input: 'x',
      tools,
      tool_choice: { type: 'function', name: 'shell' },
    });
    assert.equal((scripted.requests.at(-1)!.grammar as { only: string }).only, 'shell');
    scripted.set(writes([['{}']]));
    const schema = { type: 'object', properties: {}, additionalProperties: false };
    await scripted.client.responses.create({
      model: MODEL,
      input: 'x',
      text: { format: { type: 'json_schema', name: 'empty', schema, strict: true } },
    });
    assert.deepEqual(scripted.requests.at(-1)!.grammar, { type: 'json_schema', schema, strict: true });
  });
});

describe('responses on the engine', () => {
  it('a string input, streamed and not, gives the same text', async () => {
    const body = withExtras(
      { model: MODEL, input: 'Say something.', temperature: 0, max_output_tokens: 6 },
      { ignore_eos: true },
    );
    const r = await real.client.responses.create(body);
    assert.equal(r.status, 'incomplete');
    assert.equal(r.usage?.output_tokens, 6);
    const stream = real.client.responses.stream(body);
    let text = '';
    for await (const e of stream) if (e.type === 'response.output_text.delta') text += e.delta;
    const final = await stream.finalResponse();
    assert.equal(final.output_text, r.output_text);
    // Reasoning split off (Qwen3 thinks by default) or not, the visible text streams the same.
    assert.equal(text, r.output_text);
  });
});
