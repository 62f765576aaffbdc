/**
 * Structured output through the engine on a random-weight model with the real Qwen3 vocabulary: every choice of a
 * JSON-schema, JSON-object or tool-call request parses and matches, whatever the weights want; a schema the grammar
 * engine cannot take is an InvalidRequestError naming the schema. (The grammar engine alone, on Qwen3 and Llama 3,
 * with 50 generations per grammar: test/engine/grammar/.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { parseChatOutput } from '../../../engine/chat/output-parser.ts';
import { Engine, type EngineEvent } from '../../../engine/engine.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { InvalidRequestError } from '../../../engine/serving/errors.ts';
import type { GenerateRequest } from '../../../engine/serving/types.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { MB32, prompts } from './engine-fixture.ts';

let dir: string;
let model: LoadedModel;
let engine: Engine;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-grammar-'));
  await writeTinyModel(dir, { architecture: 'qwen3', dtype: 'f16', seed: 8 });
  model = await loadModel(await testGpu(), dir);
  engine = await Engine.create(await testGpu(), model, { cache: { pageSize: 16, memoryBytes: MB32 } });
});
after(async () => {
  await engine.close();
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

const N = 6;
const [prompt] = prompts([12], 2);

async function choices(request: Partial<GenerateRequest>): Promise<{ text: string; finish: string }[]> {
  const out = Array.from({ length: N }, () => ({ text: '', finish: '' }));
  const events: AsyncIterable<EngineEvent> = engine.generate({
    promptTokenIds: prompt,
    sampling: { temperature: 1, seed: 11, maxTokens: 120 },
    n: N,
    ...request,
  });
  for await (const e of events) {
    if (e.type === 'token') out[e.index].text += e.text;
    else out[e.index].finish = e.finishReason;
  }
  return out;
}

const SCHEMA = {
  type: 'object',
  properties: {
    color: { enum: ['red', 'green', 'blue'] },
    ok: { type: 'boolean' },
    size: { type: 'integer', minimum: 0, maximum: 99 },
  },
  required: ['color', 'ok', 'size'],
  additionalProperties: false,
};

it('json_schema: every choice parses and matches the schema', async () => {
  for (const c of await choices({ grammar: { type: 'json_schema', schema: SCHEMA, strict: true } })) {
    assert.equal(c.finish, 'stop', `ended by the grammar: ${JSON.stringify(c.text)}`);
    const value = JSON.parse(c.text);
    assert.deepEqual(Object.keys(value).sort(), ['color', 'ok', 'size']);
    assert.ok(['red', 'green', 'blue'].includes(value.color));
    assert.equal(typeof value.ok, 'boolean');
    assert.ok(Number.isInteger(value.size) && value.size >= 0 && value.size <= 99, c.text);
  }
});

it('tool calls (Hermes, required, one named tool): every choice is a call to it with valid arguments', async () => {
  const tools = [
    {
      name: 'get_weather',
      parameters: { type: 'object', properties: { unit: { enum: ['c', 'f'] } }, required: ['unit'] },
    },
    { name: 'noop', parameters: { type: 'object', properties: {} } },
  ];
  const out = await choices({
    grammar: { type: 'tool_calls', format: 'hermes', tools, mode: 'required', only: 'get_weather' },
    sampling: { temperature: 1, seed: 5, maxTokens: 120, skipSpecialTokens: false },
  });
  for (const c of out) {
    const parsed = parseChatOutput(c.text.replace(/<\|im_end\|>$/, ''), { toolCalls: 'hermes' });
    assert.ok(parsed.toolCalls.length >= 1, `a call: ${JSON.stringify(c.text)}`);
    for (const call of parsed.toolCalls) {
      assert.equal(call.name, 'get_weather');
      assert.ok(['c', 'f'].includes(JSON.parse(call.arguments).unit), call.arguments);
    }
  }
});

it('a schema the grammar engine cannot take is an InvalidRequestError naming it', async () => {
  await assert.rejects(
    choices({
      grammar: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'no-such-type' } } } },
    }),
    (e: unknown) => e instanceof InvalidRequestError && /grammar/.test(e.field),
  );
  // The engine still serves.
  const again = await choices({ grammar: { type: 'json' } });
  for (const c of again) assert.equal(typeof JSON.parse(c.text), 'object', c.text);
});
