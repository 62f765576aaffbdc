/**
 * A data folder whose master key the desktop app sealed (provider-keys.safe), served by a headless `plas serve` that
 * was not given that key: real servers one after the other on the same folder, a real stub provider.
 * - the headless server makes no master key of its own at start (the app's saved keys stay intact);
 * - a provider whose key the app sealed says why it cannot be used here and what to do, and nothing is sent to it
 *   without its key;
 * - a key entered there goes into the folder's provider-keys.key (made then, 0600), and the answer says so;
 * - back in the app, that key still works (its server reads the file beside its own key), and the app's keys too.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { desktopMasterKey } from '../../../../main/electron/master-key-store.ts';
import { bearer, http, startTestServer, type TestServer } from '../server-fixture.ts';
import { fakeSecretStorage } from './secret-storage-fixture.ts';
import { type StubProvider, startStubProvider } from './stub-provider.ts';

const APP_KEY_SAVED = 'sk-saved-in-the-app-0a1b2c3d';
const ENTERED_HEADLESS = 'sk-entered-headless-9f8e7d6c';
const TIMEOUTS = { connectMs: 1000, firstByteMs: 2000, idleMs: 2000, healthMs: 1500, refreshMs: 60_000 };

let dataDir: string;
let stub: StubProvider;
let appKey: Buffer;
const logLines: string[] = [];
const answers: string[] = [];

async function serverOn(masterKey: Buffer | undefined): Promise<TestServer> {
  return startTestServer({ dataDir, masterKey, providerTimeouts: TIMEOUTS, log: (m) => logLines.push(m) });
}

async function api(s: TestServer, path: string, method = 'GET', body?: unknown) {
  const r = await http(s.port, path, { method, body, headers: bearer(s.token) });
  answers.push(r.body);
  return r;
}

const provider = async (s: TestServer, name: string) =>
  (await api(s, '/api/providers')).json().providers.find((p: { name: string }) => p.name === name);

async function chat(s: TestServer, model: string) {
  const r = await http(s.port, '/v1/chat/completions', {
    method: 'POST',
    body: { model, messages: [{ role: 'user', content: 'Hi' }] },
    headers: bearer(s.token),
  });
  answers.push(r.body);
  return r;
}

const keysSeen = () => stub.seen.map((r) => r.headers.authorization ?? 'none');
/** The key the first chat request since `at` carried (health checks run beside it, at start). */
const chatKeySince = (at: number) =>
  stub.seen.slice(at).find((r) => r.path === '/v1/chat/completions')?.headers.authorization;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'plas-app-sealed-'));
  stub = await startStubProvider();
  // The desktop app opened this folder: its master key is sealed by the system's secret storage.
  appKey = desktopMasterKey(dataDir, fakeSecretStorage(), () => {}) as Buffer;
  assert.ok(appKey);
});

after(async () => {
  await stub?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it("the app saves keys under its own master key; a headless server on its folder makes none, and says why the app's keys cannot be used", async () => {
  const app = await serverOn(appKey);
  try {
    for (const name of ['gpu', 'other']) {
      const r = await api(app, '/api/providers', 'POST', { name, baseUrl: stub.url, apiKey: APP_KEY_SAVED });
      assert.equal(r.status, 201, r.body);
      assert.equal(r.json().keyNote, null, 'kept where the app keeps keys: nothing to say');
    }
    await api(app, '/api/providers', 'POST', { name: 'open', baseUrl: stub.url });
  } finally {
    await app.close();
  }
  assert.equal(existsSync(join(dataDir, 'provider-keys.key')), false);
  const safeBefore = readFileSync(join(dataDir, 'provider-keys.safe'));

  const headless = await serverOn(undefined);
  try {
    assert.equal(existsSync(join(dataDir, 'provider-keys.key')), false, 'no new master key at start');
    const sentBefore = stub.seen.length;
    const gpu = (await api(headless, '/api/providers/gpu/check', 'POST')).json();
    assert.equal(gpu.hasKey, true);
    assert.equal(gpu.keyReadable, false);
    assert.match(
      gpu.keyNote,
      /^Its API key is sealed with the master key that the PLAS Studio app keeps in the system's secret storage/,
    );
    assert.match(gpu.keyNote, /run PLAS Studio on this data folder, or enter the key again here/);
    assert.equal(gpu.status.state, 'down');
    assert.match(gpu.status.error, /^Provider "gpu": its API key is sealed .* enter the key again here/);
    assert.ok(!/enter its API key again$/.test(gpu.status.error), 'the advice is given once');

    const refused = await chat(headless, 'gpu/stub-model');
    assert.equal(refused.status, 500, refused.body);
    assert.equal(refused.json().error.code, 'provider_key_unreadable');
    assert.match(refused.json().error.message, /^Provider "gpu": its API key is sealed .* secret storage/);
    assert.ok(
      stub.seen.slice(sentBefore).every((r) => r.path !== '/v1/chat/completions'),
      'nothing forwarded without its key',
    );
    assert.ok(
      keysSeen()
        .slice(sentBefore)
        .every((k) => k === 'none'),
      'no key sent from here',
    );

    // A provider without a key is not concerned.
    const open = (await api(headless, '/api/providers/open/check', 'POST')).json();
    assert.equal(open.status.state, 'ok');
    assert.equal(open.keyNote, null);
    assert.equal((await chat(headless, 'open/stub-model')).status, 200);
    assert.equal(existsSync(join(dataDir, 'provider-keys.key')), false, 'still no key: nothing was sealed');

    // Entering the key again here: kept in the folder's 0600 file, made now; the answer says so.
    const saved = await api(headless, '/api/providers/gpu', 'PATCH', { apiKey: ENTERED_HEADLESS });
    assert.equal(saved.status, 200, saved.body);
    const p = saved.json();
    assert.equal(p.status.state, 'ok', JSON.stringify(p.status));
    assert.match(
      p.keyNote,
      /^Kept in this data folder's provider-keys\.key \(a file only your user account can read\)/,
    );
    assert.match(p.keyNote, /the app reads this file too/);
    assert.equal(p.keyReadable, true);
    const file = join(dataDir, 'provider-keys.key');
    assert.ok(existsSync(file));
    if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(join(dataDir, 'provider-keys.safe')), safeBefore, "the app's key is untouched");
    assert.match(logLines.join('\n'), /created .*provider-keys\.key to seal API keys entered here/);
    const before2 = stub.seen.length;
    assert.equal((await chat(headless, 'gpu/stub-model')).status, 200);
    assert.equal(chatKeySince(before2), `Bearer ${ENTERED_HEADLESS}`);
    // The other provider the app saved still waits for the app.
    assert.match((await provider(headless, 'other')).keyNote, /sealed with the master key that the PLAS Studio app/);
  } finally {
    await headless.close();
  }
});

it('back in the app: the key entered headless still works (and says where it is), the app-saved ones too', async () => {
  const app = await serverOn(appKey);
  try {
    const gpu = await provider(app, 'gpu');
    assert.match(gpu.keyNote, /^Saved by a headless plas serve, in the data folder's provider-keys\.key/);
    assert.match(gpu.keyNote, /replace it here to keep it in the system's secret storage/);
    let at = stub.seen.length;
    assert.equal((await chat(app, 'gpu/stub-model')).status, 200);
    assert.equal(chatKeySince(at), `Bearer ${ENTERED_HEADLESS}`);
    assert.equal((await provider(app, 'other')).keyNote, null);
    at = stub.seen.length;
    assert.equal((await chat(app, 'other/stub-model')).status, 200);
    assert.equal(chatKeySince(at), `Bearer ${APP_KEY_SAVED}`);
    // Entered again in the app: into its secret storage, nothing more to say.
    const moved = (await api(app, '/api/providers/gpu', 'PATCH', { apiKey: ENTERED_HEADLESS })).json();
    assert.equal(moved.keyNote, null);
  } finally {
    await app.close();
  }
  for (const text of [...answers, ...logLines]) {
    assert.ok(!text.includes(APP_KEY_SAVED) && !text.includes(ENTERED_HEADLESS), 'no key in answers or logs');
  }
});
