/**
 * A GGUF model through the whole server, as a user of LM Studio or Ollama would bring one: a Q4_K_M-style file (q4_k
 * weights, q6_k for the v and down projections, as llama.cpp mixes them; the tied 151,936-row embedding in q8_0, which
 * the test quantizes in a second where q6_k would take half a minute) is registered where it is, its memory
 * is estimated from its header, and it answers /v1/chat/completions, also under a JSON schema (the grammar engine takes
 * the vocabulary from the GGUF's tokenizer: there is no tokenizer.json beside it).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { quantize } from '../../../engine/quant/quantize.ts';
import type { WeightDType } from '../../../engine/quant/types.ts';
import { writeGgufFromTinyModel } from '../../fixtures/gguf-fixture.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { bearer, http as request, startTestServer, type TestServer } from './server-fixture.ts';

let root: string;
let gguf: string;
let server: TestServer;

/**
 * llama.cpp's Q4_K_M recipe, simplified: the v and down projections keep more bits (q6_k); the tied embedding is q8_0
 * (see above: the JS q6_k quantizer would spend most of this file's time on its 39M values).
 */
const q4km = (name: string): WeightDType =>
  name.includes('embed_tokens') ? 'q8_0' : /lm_head|v_proj|down_proj/.test(name) ? 'q6_k' : 'q4_k';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-serve-'));
  // hidden 256: K-quant rows are whole 256-element super-blocks.
  const tiny = await writeTinyModel(join(root, 'tiny'), {
    architecture: 'qwen2',
    dtype: 'f32',
    seed: 4,
    hiddenSize: 256,
    intermediate: 512,
  });
  gguf = join(root, 'Tiny-Q4_K_M.gguf');
  await writeGgufFromTinyModel(tiny, gguf, { type: q4km, quantize, name: 'Tiny Q4_K_M' });
  server = await startTestServer();
});

after(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

test('a Q4_K_M GGUF registers in place, is estimated from its header, and answers chat and JSON-schema requests', async () => {
  const auth = bearer(server.token);
  const added = await request(server.port, '/api/models', { method: 'POST', headers: auth, body: { path: gguf } });
  assert.equal(added.status, 201, added.body);
  const model = added.json();
  assert.equal(model.path, gguf, 'registered where it is');
  assert.deepEqual(await readdir(root), ['Tiny-Q4_K_M.gguf', 'tiny'], 'nothing copied');

  const estimate = await request(server.port, `/api/models/${model.name}/estimate?context=256`, { headers: auth });
  assert.equal(estimate.status, 200, estimate.body);
  const e = estimate.json();
  assert.ok(e.weightsBytes > 0 && e.kvBytes > 0 && e.kvDtype === 'f16', estimate.body);

  const chat = (body: object) =>
    request(server.port, '/v1/chat/completions', {
      method: 'POST',
      body: { model: model.name, messages: [{ role: 'user', content: 'Hi' }], temperature: 0, ...body },
    });
  const plain = await chat({ max_tokens: 6, ignore_eos: true });
  assert.equal(plain.status, 200, plain.body);
  assert.equal(plain.json().usage.completion_tokens, 6);

  const structured = await chat({
    max_tokens: 40,
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'n',
        strict: true,
        schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
      },
    },
  });
  assert.equal(structured.status, 200, structured.body);
  const text: string = structured.json().choices[0].message.content;
  assert.match(text, /^\{"n": ?-?\d*/, `held to the schema: ${text}`);
});
