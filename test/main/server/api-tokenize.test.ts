/**
 * POST /api/tokenize on the real server with PLAS Mini's real tokenizer: text and chat messages are counted as
 * /v1/chat/completions counts its prompt (checked against the usage of a real completion), a registered model is
 * countable before it is loaded (its tokenizer is read from its folder, no GPU), a folder that cannot give a
 * tokenizer is a 409 saying why, and bad bodies are 400s naming the field.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { renderChat } from '../../../engine/chat/render.ts';
import { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { DEFAULT_MODEL_DIR } from '../../../main/cli/default-model.ts';
import { bearer, http, startTestServer, type TestServer } from './server-fixture.ts';

let server: TestServer;
let copyDir: string;
const post = (path: string, body: unknown) =>
  http(server.port, path, { method: 'POST', body, headers: bearer(server.token) });

const MESSAGES = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'What is a fortune?' },
  { role: 'assistant', content: 'A prediction.' },
  { role: 'user', content: 'Tell me mine, please.' },
];

before(async () => {
  // No model at launch: PLAS Mini is registered below and stays unloaded until the completion loads it.
  server = await startTestServer();
  copyDir = await mkdtemp(join(tmpdir(), 'plas-tokenize-'));
  await cp(DEFAULT_MODEL_DIR, copyDir, { recursive: true });
  for (const [path, name] of [
    [DEFAULT_MODEL_DIR, 'mini'],
    [copyDir, 'mini-copy'],
  ]) {
    const res = await post('/api/models', { path, name });
    assert.equal(res.status, 201, res.body);
  }
});
after(async () => {
  await server?.stop();
  await rm(copyDir, { recursive: true, force: true });
});

it('counts text and rendered messages with the real tokenizer of a model that is not loaded', async () => {
  const tokenizer = await Tokenizer.fromFolder(DEFAULT_MODEL_DIR);
  const text = 'Long documents are why PLAS exists.';
  const res = await post('/api/tokenize', { model: 'mini', text });
  assert.equal(res.status, 200, res.body);
  const expectedText = tokenizer.encode(text, { addSpecialTokens: false }).length;
  assert.ok(expectedText > 3);
  assert.deepEqual(res.json(), { model: 'mini', tokens: expectedText, maxContext: res.json().maxContext });
  assert.ok(Number.isInteger(res.json().maxContext) && res.json().maxContext > 0);

  const chat = await post('/api/tokenize', { model: 'mini', messages: MESSAGES });
  assert.equal(chat.status, 200, chat.body);
  const rendered = renderChat(tokenizer, MESSAGES as never, { addGenerationPrompt: true });
  assert.equal(chat.json().tokens, tokenizer.encode(rendered, { addSpecialTokens: false }).length);
  assert.ok(chat.json().tokens > expectedText, 'the template adds its own tokens');
  const models = await http(server.port, '/api/models', { headers: bearer(server.token) });
  const mini = models.json().models.find((m: { name: string }) => m.name === 'mini');
  assert.equal(mini.loaded, false, 'counting does not load the model');
  assert.equal(chat.json().maxContext, mini.contextLength);
});

it('counts messages as /v1/chat/completions counts its prompt, loaded or not', async () => {
  const before = (await post('/api/tokenize', { model: 'mini', messages: MESSAGES })).json().tokens;
  const completion = await post('/v1/chat/completions', { model: 'mini', messages: MESSAGES, max_tokens: 1 });
  assert.equal(completion.status, 200, completion.body);
  assert.equal(completion.json().usage.prompt_tokens, before);
  const after = await post('/api/tokenize', { model: 'mini', messages: MESSAGES });
  assert.equal(after.json().tokens, before, 'the loaded model counts the same');
});

it('is a 409 naming the reason when the folder cannot give a tokenizer, and 400/404 for bad requests', async () => {
  await rm(join(copyDir, 'tokenizer.json'));
  const gone = await post('/api/tokenize', { model: 'mini-copy', text: 'hi' });
  assert.equal(gone.status, 409, gone.body);
  assert.equal(gone.json().error.code, 'tokenizer_unavailable');
  assert.match(gone.json().error.message, /mini-copy.*not loaded.*tokenizer\.json/s);

  const both = await post('/api/tokenize', { model: 'mini', text: 'a', messages: MESSAGES });
  assert.equal(both.status, 400);
  assert.match(both.json().error.message, /exactly one/);
  const neither = await post('/api/tokenize', { model: 'mini' });
  assert.equal(neither.status, 400);
  const unknown = await post('/api/tokenize', { model: 'nope', text: 'a' });
  assert.equal(unknown.status, 404);
  assert.match(unknown.json().error.message, /nope/);
  const badRole = await post('/api/tokenize', { model: 'mini', messages: [{ role: 'wizard', content: 'x' }] });
  assert.equal(badRole.status, 400);
  const noAuth = await http(server.port, '/api/tokenize', { method: 'POST', body: { model: 'mini', text: 'a' } });
  assert.equal(noAuth.status, 401);
});
