/**
 * The discovery and download routes on a real server: GET /api/models/discover over a fake home (HF cache, LM
 * Studio, Ollama), Add through POST /api/models {path, name}, added folders, and POST /api/models/pull from a hub on
 * loopback as server-sent events: a pull that registers the model, a 404 and a 401 as error events, and a cancel by
 * DELETE that keeps the partial file and registers nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { bearer, http, startTestServer, type TestServer } from '../server/server-fixture.ts';
import { type FakeHome, makeFakeHome } from './fake-trees.ts';
import { commitOf, type LocalHub, startLocalHub } from './local-hub.ts';

let fake: FakeHome;
let server: TestServer;
let hub: LocalHub;
// biome-ignore lint/suspicious/noExplicitAny: response JSON, asserted field by field
type Json = any;

before(async () => {
  fake = await makeFakeHome(await mkdtemp(join(tmpdir(), 'plas-api-discover-')));
  // The server reads the tools' folders from its environment, as `plas serve` would.
  process.env.HOME = fake.home;
  for (const key of ['HF_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME', 'OLLAMA_MODELS', 'HF_TOKEN']) delete process.env[key];
  hub = await startLocalHub();
  process.env.HF_ENDPOINT = hub.endpoint;
  const tiny = await writeTinyModel(join(fake.home, 'hub-src'), {
    architecture: 'qwen3',
    dtype: 'f16',
    hiddenSize: 64,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    intermediate: 128,
  });
  const files: Record<string, Buffer> = {};
  for (const name of await readdir(tiny.dir)) files[name] = await readFile(join(tiny.dir, name));
  hub.repos.set('acme/pulled', { commit: commitOf('pulled'), files });
  hub.repos.set('acme/big', { commit: commitOf('big'), files: { 'big.gguf': Buffer.alloc(400_000, 7) } });
  hub.repos.set('acme/gated', { commit: commitOf('gated'), files: { 'g.gguf': Buffer.alloc(10) }, gated: true });
  server = await startTestServer();
});
after(async () => {
  await server?.stop();
  await hub?.close();
  await rm(fake.home, { recursive: true, force: true });
});

const get = async (path: string): Promise<Json> => {
  const r = await http(server.port, path, { headers: bearer(server.token) });
  assert.equal(r.status, 200, r.body);
  return r.json();
};

/** POST /api/models/pull, collecting its events; `onEvent` may return true to stop reading (closes the stream). */
async function pull(body: unknown, onEvent?: (e: { event: string; data: Json }) => boolean | undefined) {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/models/pull`, {
    method: 'POST',
    headers: { ...bearer(server.token), 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const events: { event: string; data: Json }[] = [];
  if (!response.ok) return { status: response.status, events, body: await response.json() };
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const e = { event: /^event: (.*)$/m.exec(block)![1], data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) };
        events.push(e);
        if (await onEvent?.(e)) controller.abort();
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return { status: response.status, events, body: null };
}

test('GET /api/models/discover lists what is on this computer; Add registers one in place', async () => {
  const { models } = await get('/api/models/discover');
  const names = models.map((m: Json) => m.name);
  for (const name of [
    'acme/tiny-llama',
    'acme/tiny-GGUF/tiny-Q4_K_M.gguf',
    'tiny:q4',
    'lmstudio-community/Tiny-GGUF/Tiny-Q4_K_M.gguf',
  ]) {
    assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
  }
  const ollama = models.find((m: Json) => m.name === 'tiny:q4');
  assert.equal(ollama.registered, null);
  assert.equal(ollama.suggestedName, 'tiny:q4');
  const q4 = models.find((m: Json) => m.name === 'acme/tiny-GGUF/tiny-Q4_K_M.gguf');
  const lm = models.find((m: Json) => m.name === 'lmstudio-community/Tiny-GGUF/Tiny-Q4_K_M.gguf');
  assert.equal(q4.suggestedName, 'tiny-Q4_K_M');
  assert.equal(lm.suggestedName, 'Tiny-Q4_K_M', 'distinct names for distinct files');

  const added = await http(server.port, '/api/models', {
    method: 'POST',
    headers: bearer(server.token),
    body: { path: ollama.path, name: ollama.suggestedName },
  });
  assert.equal(added.status, 201, added.body);
  assert.equal(added.json().dtype, 'q4_k_m');
  const again = await get('/api/models/discover');
  assert.equal(again.models.find((m: Json) => m.name === 'tiny:q4').registered, 'tiny:q4');

  const refused = await http(server.port, '/api/models', {
    method: 'POST',
    headers: bearer(server.token),
    body: { path: models.find((m: Json) => m.name === 'acme/tiny-GGUF/tiny-Q2_K.gguf').path },
  });
  assert.equal(refused.status, 400);
  assert.match(refused.json().error.message, /quant type q2_k not supported/);
});

test('added folders are searched too; a relative or missing folder is refused naming the path', async () => {
  const before = await get('/api/models/discover');
  assert.ok(!before.models.some((m: Json) => m.source === 'folder'));
  const add = (path: string, method = 'POST') =>
    http(server.port, '/api/models/discover/folders', { method, headers: bearer(server.token), body: { path } });
  const ok = await add(fake.folder);
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(ok.json().folders, [fake.folder]);
  const after = await get('/api/models/discover');
  assert.ok(after.models.some((m: Json) => m.source === 'folder' && m.name === 'deep/er/deep-Q4_K_M.gguf'));
  assert.deepEqual(after.roots.folders, [fake.folder]);
  const relative = await add('my-models');
  assert.equal(relative.status, 400);
  assert.equal(relative.json().error.param, 'path');
  assert.match(relative.json().error.message, /must be an absolute folder path/);
  assert.match((await add('/nonexistent/plas')).json().error.message, /\/nonexistent\/plas does not exist/);
  assert.deepEqual((await add(fake.folder, 'DELETE')).json().folders, []);
});

test('POST /api/models/pull streams progress, lands in the HF cache and registers the model', async () => {
  const { status, events } = await pull({ repo: 'acme/pulled' });
  assert.equal(status, 200);
  assert.equal(events[0].event, 'start');
  assert.equal(events[0].data.commit, commitOf('pulled'));
  assert.ok(events.some((e) => e.event === 'progress'));
  const done = events.at(-1)!;
  assert.equal(done.event, 'done', JSON.stringify(done.data));
  assert.equal(done.data.notRegistered, null);
  assert.equal(done.data.model.name, 'pulled');
  assert.equal(done.data.model.architecture, 'Qwen3ForCausalLM');
  assert.equal(
    done.data.snapshot,
    join(fake.home, '.cache', 'huggingface', 'hub', 'models--acme--pulled', 'snapshots', commitOf('pulled')),
  );
  const listed = (await get('/api/models')).models.map((m: Json) => m.name);
  assert.ok(listed.includes('pulled'));
  // The next discovery finds it in the cache, registered.
  const found = (await get('/api/models/discover')).models.find((m: Json) => m.name === 'acme/pulled');
  assert.equal(found.registered, 'pulled');
});

test('a 404 and a 401 come back as error events with the reason; a bad name is a 400 event', async () => {
  const missing = await pull({ repo: 'acme/missing' });
  assert.deepEqual(
    missing.events.map((e) => e.event),
    ['error'],
  );
  assert.equal(missing.events[0].data.error.code, 'not_found');
  assert.match(missing.events[0].data.error.message, /acme\/missing \(revision main\) was not found/);
  const gated = await pull({ repo: 'acme/gated' });
  assert.equal(gated.events[0].data.error.code, 'auth');
  assert.match(gated.events[0].data.error.message, /set HF_TOKEN/);
  const bad = await pull({ repo: '../../etc' });
  assert.equal(bad.events[0].data.error.code, 'bad_name');
  const schema = await pull({ repo: 'acme/x', extra: 1 });
  assert.equal(schema.status, 400);
});

test('DELETE /api/models/pull/:id cancels: the partial file stays, nothing is registered', async () => {
  hub.trickle = { chunk: 16_384, delayMs: 40 };
  const before = (await get('/api/models')).models.length;
  let cancelled: Json = null;
  let id = '';
  const { events } = await pull({ repo: 'acme/big' }, (e) => {
    if (e.event === 'start') id = e.data.id;
    if (e.event === 'progress' && !cancelled) {
      cancelled = http(server.port, `/api/models/pull/${id}`, { method: 'DELETE', headers: bearer(server.token) });
    }
    return false;
  });
  hub.trickle = { chunk: 0, delayMs: 0 };
  assert.equal((await cancelled).status, 200);
  const last = events.at(-1)!;
  assert.equal(last.event, 'error');
  assert.equal(last.data.error.code, 'cancelled');
  const blobs = join(fake.home, '.cache', 'huggingface', 'hub', 'models--acme--big', 'blobs');
  const partial = (await readdir(blobs)).find((f) => f.endsWith('.incomplete'));
  assert.ok(partial, 'the partial file is kept');
  assert.ok((await stat(join(blobs, partial))).size > 0);
  assert.equal((await get('/api/models')).models.length, before, 'nothing registered');
  const gone = await http(server.port, `/api/models/pull/${id}`, { method: 'DELETE', headers: bearer(server.token) });
  assert.equal(gone.status, 404);
});

test('closing the stream cancels too: the partial file stays and the same model can be pulled again at once', async () => {
  hub.trickle = { chunk: 16_384, delayMs: 40 };
  const blobs = join(fake.home, '.cache', 'huggingface', 'hub', 'models--acme--big', 'blobs');
  const partialSize = async () => {
    const partial = (await readdir(blobs)).find((f) => f.endsWith('.incomplete'));
    return partial ? (await stat(join(blobs, partial))).size : 0;
  };
  const before = await partialSize();
  const { events } = await pull({ repo: 'acme/big' }, (e) => e.event === 'progress');
  assert.equal(events.at(-1)?.event, 'progress');
  // The server notices the closed stream, stops fetching and frees the model for the next pull.
  let status = 409;
  for (let i = 0; i < 50 && status === 409; i++) {
    await new Promise((r) => setTimeout(r, 50));
    hub.trickle = { chunk: 0, delayMs: 0 };
    const again = await pull({ repo: 'acme/big' });
    status = again.status;
    if (status === 200) {
      assert.equal(again.events.at(-1)?.event, 'done');
      assert.ok(again.events.at(-1)?.data.fetchedBytes < 400_000, 'the resumed pull fetched only the rest');
    }
  }
  assert.equal(status, 200);
  assert.ok(before > 0);
});
