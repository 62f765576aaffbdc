/**
 * Structured output end to end on the tiny random Qwen3 model: JSON modes and forced tool calls are held by the
 * grammar, so even random weights write output that parses and matches its schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MODEL, startV1Server, type V1Server } from './helpers.ts';

let s: V1Server;
before(async () => {
  s = await startV1Server();
});
after(() => s?.stop());

const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];
const params = {
  type: 'object',
  properties: { city: { type: 'string', enum: ['Paris', 'Oslo'] }, unit: { type: 'string', enum: ['C', 'F'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const tools = [
  {
    type: 'function' as const,
    function: { name: 'get_weather', description: 'Weather in a city', parameters: params },
  },
  {
    type: 'function' as const,
    function: {
      name: 'get_time',
      parameters: {
        type: 'object',
        properties: { zone: { type: 'boolean' } },
        required: ['zone'],
        additionalProperties: false,
      },
    },
  },
];

function checkWeather(args: unknown): void {
  const a = args as { city: string; unit: string };
  assert.deepEqual(Object.keys(a).sort(), ['city', 'unit']);
  assert.ok(['Paris', 'Oslo'].includes(a.city));
  assert.ok(['C', 'F'].includes(a.unit));
}

describe('structured output on the engine', () => {
  it('json_schema output parses and matches the schema', async () => {
    const r = await s.client.chat.completions.create({
      model: MODEL,
      messages,
      temperature: 1,
      seed: 3,
      max_tokens: 64,
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: params, strict: true } },
    });
    assert.equal(r.choices[0].finish_reason, 'stop', r.choices[0].message.content ?? '');
    checkWeather(JSON.parse(r.choices[0].message.content ?? ''));
  });

  it('json_object output parses as a JSON object, streamed too', async () => {
    const body = {
      model: MODEL,
      messages,
      temperature: 0,
      max_tokens: 200,
      response_format: { type: 'json_object' as const },
    };
    const r = await s.client.chat.completions.create(body);
    assert.equal(r.choices[0].finish_reason, 'stop', r.choices[0].message.content ?? '');
    const value = JSON.parse(r.choices[0].message.content ?? '');
    assert.equal(typeof value, 'object');
    const stream = await s.client.chat.completions.create({ ...body, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, r.choices[0].message.content);
  });

  it('tool_choice required: calls parse and match their tools, streamed and not', async () => {
    const r = await s.client.chat.completions.create({
      model: MODEL,
      messages,
      tools,
      tool_choice: 'required',
      temperature: 1,
      seed: 5,
      max_tokens: 96,
    });
    const calls = r.choices[0].message.tool_calls ?? [];
    assert.equal(r.choices[0].finish_reason, 'tool_calls', JSON.stringify(r.choices[0].message));
    assert.ok(calls.length >= 1);
    for (const c of calls as { function: { name: string; arguments: string } }[]) {
      const args = JSON.parse(c.function.arguments);
      if (c.function.name === 'get_weather') checkWeather(args);
      else assert.equal(typeof args.zone, 'boolean');
    }
    const runner = s.client.chat.completions.stream({
      model: MODEL,
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 1,
      seed: 6,
      max_tokens: 96,
    });
    const final = await runner.finalChatCompletion();
    const streamed = (final.choices[0].message.tool_calls ?? []) as { function: { name: string; arguments: string } }[];
    assert.ok(streamed.length >= 1);
    for (const c of streamed) {
      assert.equal(c.function.name, 'get_weather');
      checkWeather(JSON.parse(c.function.arguments));
    }
  });
});
