/**
 * /api/models over HTTP with a real SQLite registry and tiny models: add (validated), list, estimate, load with SSE
 * progress, unload, delete (and delete the files: only confirmed, only a flat folder of model files); and model names
 * that look like paths never reach the file system.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import OpenAI from 'openai';
import type { ModelConfig } from '../../../engine/model/config.ts';
import { DEFAULT_MODEL_DIR } from '../../../main/cli/default-model.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { bearer, http, readSse, startTestServer, type TestServer } from './server-fixture.ts';

let dir: string;
let server: TestServer;
let tinyConfig: ModelConfig;
const api = (path: string, options: Parameters<typeof http>[2] = {}) =>
  http(server.port, path, { ...options, headers: { ...bearer(server.token), ...options.headers } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-api-models-'));
  tinyConfig = (await writeTinyModel(join(dir, 'tiny'), { architecture: 'llama', dtype: 'f16', seed: 5 })).config;
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('adds a folder (validated first), lists it, and refuses what is wrong with 400 naming it', async () => {
  assert.deepEqual((await api('/api/models')).json(), { models: [] });
  const added = await api('/api/models', { method: 'POST', body: { path: join(dir, 'tiny'), name: 'tiny' } });
  assert.equal(added.status, 201, added.body);
  const model = added.json();
  assert.equal(model.name, 'tiny');
  assert.equal(model.path, join(dir, 'tiny'));
  assert.equal(model.architecture, 'LlamaForCausalLM');
  assert.equal(model.dtype, 'f16');
  assert.equal(model.contextLength, tinyConfig.maxPositionEmbeddings);
  assert.equal(model.loaded, false);
  assert.ok(model.parameters > 0 && model.sizeBytes > model.parameters * 2);
  assert.deepEqual(
    (await api('/api/models')).json().models.map((m: { name: string }) => m.name),
    ['tiny'],
  );

  const cases: [unknown, RegExp, string | null][] = [
    [{ path: join(dir, 'nowhere') }, /does not exist/, 'path'],
    [{ path: 'relative/folder' }, /must be an absolute folder path/, 'path'],
    [{ path: dir }, /config\.json:? not found/, 'path'],
    [{ path: join(dir, 'tiny'), name: '../../etc/passwd' }, /is not a valid model name/, 'name'],
    [{ name: 'x' }, /^path: is required$/, 'path'],
    [{ path: 5 }, /^path: /, 'path'],
    [{ path: join(dir, 'tiny'), extra: true }, /^extra: is not a known field$/, 'extra'],
  ];
  for (const [body, message, param] of cases) {
    const res = await api('/api/models', { method: 'POST', body });
    assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.match(res.json().error.message, message);
    assert.equal(res.json().error.param, param);
  }
  const duplicate = await api('/api/models', { method: 'POST', body: { path: join(dir, 'tiny'), name: 'tiny' } });
  assert.equal(duplicate.status, 409);
  assert.match(duplicate.json().error.message, /a model named 'tiny' is already registered/);
});

it('estimates GPU memory: the weights plus the KV cache at a context', async () => {
  const c = tinyConfig;
  const res = await api('/api/models/tiny/estimate?context=100');
  assert.equal(res.status, 200, res.body);
  const e = res.json();
  // f16 weights: 2 bytes per parameter (every tiny tensor is a whole number of 4-byte words).
  const model = (await api('/api/models')).json().models[0];
  assert.equal(e.weightsBytes, model.parameters * 2);
  // 100 tokens take 2 pages of 64; each token holds K and V (f16, the engine's default) for every layer and KV head.
  const perToken = 2 * c.numLayers * c.numKvHeads * c.headDim * 2;
  assert.equal(e.kvDtype, 'f16');
  assert.equal(e.kvBytesPerToken, perToken);
  assert.deepEqual(e.kvBytesPerTokenByDtype, { f16: perToken, f32: 2 * perToken });
  assert.equal(e.kvBytes, 128 * perToken);
  // PLAS may run (the engine's default), so the per-page key sums and bounds are counted: [pages, kvHeads, 3 x headDim]
  // f32 a layer.
  assert.equal(e.keySumBytes, c.numLayers * 2 * c.numKvHeads * 3 * c.headDim * 4);
  assert.equal(e.totalBytes, e.weightsBytes + e.kvBytes + e.keySumBytes);
  const full = (await api('/api/models/tiny/estimate')).json();
  assert.equal(full.context, c.maxPositionEmbeddings, 'defaults to the model context');
  const tooLong = await api(`/api/models/tiny/estimate?context=${c.maxPositionEmbeddings + 1}`);
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.json().error.param, 'context');
  const zero = await api('/api/models/tiny/estimate?context=0');
  assert.equal(zero.status, 400);
  assert.match(zero.json().error.message, /querystring context/);
});

it('loads with SSE progress then done, unloads, and deletes', async () => {
  const { status, events } = await readSse(server.port, '/api/models/tiny/load', {
    method: 'POST',
    headers: bearer(server.token),
  });
  assert.equal(status, 200);
  const progress = events.filter((e) => e.event === 'progress');
  assert.ok(progress.length >= 1, JSON.stringify(events));
  const last = progress[progress.length - 1].data;
  assert.equal(last.loaded, last.total, 'the last progress event is the whole model');
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].data.loaded >= progress[i - 1].data.loaded);
  const done = events[events.length - 1];
  assert.equal(done.event, 'done');
  assert.equal(done.data.model.loaded, true);
  assert.ok(done.data.loadSeconds > 0);
  assert.equal((await http(server.port, '/health')).json().model, 'tiny');

  // Loading it again is done at once.
  const again = await readSse(server.port, `/api/models/tiny/load?token=${server.token}`, { method: 'POST' });
  assert.deepEqual(
    again.events.map((e) => e.event),
    ['done'],
  );

  assert.deepEqual((await api('/api/models/tiny/unload', { method: 'POST' })).json(), { unloaded: true });
  assert.deepEqual((await api('/api/models/tiny/unload', { method: 'POST' })).json(), { unloaded: false });
  assert.equal((await http(server.port, '/health')).status, 503);

  await api('/api/models', { method: 'POST', body: { path: join(dir, 'tiny'), name: 'doomed' } });
  assert.deepEqual((await api('/api/models/doomed', { method: 'DELETE' })).json(), { deleted: 'doomed' });
  const gone = await api('/api/models/doomed', { method: 'DELETE' });
  assert.equal(gone.status, 404);
  assert.equal(gone.json().error.code, 'model_not_found');
  const unknownLoad = await api('/api/models/doomed/load', { method: 'POST' });
  assert.equal(unknownLoad.status, 404, 'an unknown model is a 404, not a stream');
});

it('a model name that looks like a path is only ever an unknown model', async () => {
  // A registered folder that a name would reach if it were resolved as a path relative to the data dir.
  const sneaky = join(server.dataDir, 'models', 'evil');
  await mkdir(join(server.dataDir, 'models'), { recursive: true });
  await writeTinyModel(sneaky, { architecture: 'llama', dtype: 'f16' });
  const names = [
    '../../etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
    encodeURIComponent(join(dir, 'tiny')),
    'models%2Fevil',
    encodeURIComponent(sneaky),
  ];
  for (const name of names) {
    for (const [method, path] of [
      ['GET', `/api/models/${name}/estimate`],
      ['POST', `/api/models/${name}/load`],
      ['POST', `/api/models/${name}/unload`],
      ['DELETE', `/api/models/${name}`],
    ] as const) {
      const res = await api(path, { method });
      assert.ok(res.status === 404, `${method} ${path}: ${res.status} ${res.body}`);
      if (res.json().error.code !== 'not_found') assert.equal(res.json().error.code, 'model_not_found');
    }
  }
  // The OpenAI client sees the same through /v1: a 404 naming the model, nothing loaded.
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  for (const model of ['../../etc/passwd', sneaky, join(dir, 'tiny'), 'models/evil']) {
    await assert.rejects(
      client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }),
      (e: Error & { status?: number }) => e.status === 404 && e.message.includes('does not exist'),
    );
  }
  assert.equal(server.manager.loaded(), null);
  assert.deepEqual(
    (await api('/api/models')).json().models.map((m: { name: string }) => m.name),
    ['tiny'],
  );
});

/** Every file under a folder with its bytes, to prove a refused delete touched nothing. */
async function snapshot(folder: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    files.set(
      path,
      entry.isFile() ? (await readFile(path)).toString('base64') : entry.isSymbolicLink() ? 'link' : 'dir',
    );
  }
  return files;
}

it('deletes a model folder only when confirmed and only when it is a flat folder of model files', async () => {
  const deleteFiles = (name: string, confirm: unknown) =>
    api(`/api/models/${encodeURIComponent(name)}/files`, { method: 'DELETE', body: { confirm } });
  const add = async (path: string, name: string) => {
    const res = await api('/api/models', { method: 'POST', body: { path, name } });
    assert.equal(res.status, 201, res.body);
  };

  // Refused: each leaves every file in place and the model registered.
  const nested = join(dir, 'nested');
  await writeTinyModel(nested, { architecture: 'llama', dtype: 'f16' });
  await mkdir(join(nested, 'my-notes'));
  await writeFile(join(nested, 'my-notes', 'keep.txt'), 'precious');
  await add(nested, 'nested');
  const linked = join(dir, 'linked');
  await writeTinyModel(linked, { architecture: 'llama', dtype: 'f16' });
  await symlink(join(linked, 'config.json'), join(linked, 'config-copy.json'));
  await add(linked, 'linked');
  const moved = join(dir, 'moved');
  await writeTinyModel(moved, { architecture: 'llama', dtype: 'f16' });
  await add(moved, 'moved');
  await rename(moved, `${moved}-real`);
  await symlink(`${moved}-real`, moved); // the registered path is now a symlink to elsewhere
  await add(DEFAULT_MODEL_DIR, 'bundled');

  const refusals: [string, unknown, number, RegExp][] = [
    ['nested', 'nested', 403, /holds the folder my-notes: PLAS Studio deletes only folders of model files alone/],
    ['linked', 'linked', 403, /config-copy\.json is a symlink/],
    ['moved', 'moved', 403, /is a symlink: PLAS Studio deletes only real folders/],
    ['bundled', 'bundled', 403, /bundled with the app/],
    ['nested', 'NESTED', 400, /confirm must repeat the model's name \('nested'\) exactly/],
    ['nested', '', 400, /confirm must repeat/],
  ];
  const before = new Map<string, Map<string, string>>();
  for (const folder of [nested, linked, `${moved}-real`, DEFAULT_MODEL_DIR]) before.set(folder, await snapshot(folder));
  for (const [name, confirm, status, message] of refusals) {
    const res = await deleteFiles(name, confirm);
    assert.equal(res.status, status, `${name}: ${res.body}`);
    assert.match(res.json().error.message, message);
  }
  const missing = await api('/api/models/nested/files', { method: 'DELETE', body: {} });
  assert.equal(missing.status, 400);
  assert.equal(missing.json().error.param, 'confirm');
  assert.equal((await deleteFiles('nobody', 'nobody')).status, 404);
  for (const [folder, files] of before) assert.deepEqual(await snapshot(folder), files, `${folder} was touched`);
  const names = (await api('/api/models')).json().models.map((m: { name: string }) => m.name);
  for (const name of ['nested', 'linked', 'moved', 'bundled']) assert.ok(names.includes(name), `${name} unregistered`);

  // Allowed: a flat folder of model files, confirmed by its name. It is unloaded, unregistered and gone.
  const flat = join(dir, 'flat');
  await writeTinyModel(flat, { architecture: 'llama', dtype: 'f16' });
  await add(flat, 'flat');
  await readSse(server.port, '/api/models/flat/load', { method: 'POST', headers: bearer(server.token) });
  const res = await deleteFiles('flat', 'flat');
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json().folder, flat);
  assert.ok(res.json().files.includes('config.json'));
  assert.equal(existsSync(flat), false);
  assert.equal(server.manager.loaded(), null);
  assert.equal((await api('/api/models/flat/estimate')).status, 404);
  for (const name of ['nested', 'linked', 'moved', 'bundled']) await api(`/api/models/${name}`, { method: 'DELETE' });
});
