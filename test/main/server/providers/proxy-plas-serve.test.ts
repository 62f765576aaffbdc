/**
 * A second, real `plas serve` process (PLAS Mini on SwiftShader, its own --api-key) as the remote provider of a server
 * on loopback: its models listed as "remote/plas-mini", chat through the official openai client, non-streamed and
 * streamed (the same greedy text both ways, and the same as asking the remote directly), completions and responses
 * forwarded, the `plas` extension kept for a PLAS Studio provider, the remote's own errors mapped with its name.
 * The remote also gets its master key on stdin (--master-key-stdin), as the desktop app hands it over.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { bearer, http, startTestServer, type TestServer } from '../server-fixture.ts';

const root = join(import.meta.dirname, '..', '..', '..', '..');
const REMOTE_KEY = 'remote-api-key-5b1e0c9d';
const OUR_KEY = 'local-key-for-the-proxy';

let remote: ChildProcess | null = null;
let remoteUrl = '';
let remoteDir = '';
let server: TestServer;
let remoteOutput = '';

async function startRemote(): Promise<string> {
  remoteDir = await mkdtemp(join(tmpdir(), 'plas-remote-'));
  remote = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'main/cli/plas.ts'),
      'serve',
      '--software',
      '--port',
      '0',
      '--data-dir',
      remoteDir,
      '--kv-cache-memory',
      '16',
      '--max-num-seqs',
      '4',
      '--api-key',
      REMOTE_KEY,
      '--master-key-stdin',
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  remote.stdin!.end(`${randomBytes(32).toString('base64')}\n`);
  remote.stderr!.on('data', (c) => {
    remoteOutput += c;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    remote!.stdout!.on('data', (c) => {
      out += c;
      remoteOutput += c;
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve(JSON.parse(line).url);
    });
    remote!.once('exit', (code) => reject(new Error(`plas serve exited with ${code}: ${remoteOutput}`)));
  });
  const port = Number(new URL(url).port);
  for (let i = 0; i < 600; i++) {
    if ((await http(port, '/health')).status === 200) return url;
    await sleep(100);
  }
  throw new Error(`the remote never loaded its model: ${remoteOutput}`);
}

before(async () => {
  const [url, s] = await Promise.all([startRemote(), startTestServer({ apiKey: OUR_KEY })]);
  remoteUrl = url;
  server = s;
});

after(async () => {
  await server?.stop();
  if (remote && remote.exitCode === null) {
    const exited = new Promise((resolve) => remote!.once('exit', resolve));
    remote.kill('SIGTERM');
    await Promise.race([exited, sleep(6000)]);
    if (remote.exitCode === null) remote.kill('SIGKILL');
  }
  if (remoteDir) await rm(remoteDir, { recursive: true, force: true });
});

const ours = () => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: OUR_KEY, maxRetries: 0, timeout: 60_000 });
const direct = () => new OpenAI({ baseURL: `${remoteUrl}/v1`, apiKey: REMOTE_KEY, maxRetries: 0, timeout: 60_000 });
const ASK = { messages: [{ role: 'user' as const, content: 'Say hello.' }], max_tokens: 8, temperature: 0 };

it('the remote took its master key from stdin (no key file in its data dir)', () => {
  assert.equal(existsSync(join(remoteDir, 'provider-keys.key')), false);
});

it('lists the remote plas serve and its model', async () => {
  const r = await http(server.port, '/api/providers', {
    method: 'POST',
    headers: bearer(server.token),
    body: { name: 'remote', baseUrl: remoteUrl, kind: 'plas-studio', apiKey: REMOTE_KEY },
  });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json().status.state, 'ok', r.body);
  assert.deepEqual(r.json().models, ['plas-mini']);
  const listed = await ours().models.list();
  const ids = listed.data.map((m) => m.id);
  assert.ok(ids.includes('remote/plas-mini'), ids.join(', '));
});

it('chats through the proxy, non-streamed and streamed, as the remote answers directly', async () => {
  const want = await direct().chat.completions.create({ model: 'plas-mini', ...ASK });
  const got = await ours().chat.completions.create({ model: 'remote/plas-mini', ...ASK });
  assert.ok(want.choices[0].message.content, 'the remote generated text');
  assert.equal(got.choices[0].message.content, want.choices[0].message.content);
  assert.equal(got.usage?.completion_tokens, want.usage?.completion_tokens);

  const stream = await ours().chat.completions.create({
    model: 'remote/plas-mini',
    ...ASK,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let usage: OpenAI.CompletionUsage | null | undefined = null;
  for await (const c of stream) {
    chunks++;
    text += c.choices[0]?.delta?.content ?? '';
    usage = c.usage ?? usage;
  }
  assert.equal(text, want.choices[0].message.content);
  assert.ok(chunks >= 3, `${chunks} chunks`);
  assert.equal(usage?.completion_tokens, want.usage?.completion_tokens);

  const log = (await http(server.port, '/api/requests', { headers: bearer(server.token) })).json();
  const entries = (log.requests ?? log).filter((e: { model: string }) => e.model === 'remote/plas-mini');
  assert.equal(entries.length, 2, JSON.stringify(log));
  assert.ok(entries.every((e: { status: number }) => e.status === 200));
  assert.equal(entries[0].completionTokens, want.usage?.completion_tokens);
  assert.ok(entries[0].ttftMs > 0, 'the streamed one has its time to first chunk');
});

it('forwards completions and responses, and keeps `plas` for a PLAS Studio provider', async () => {
  const c = await ours().completions.create({ model: 'remote/plas-mini', prompt: 'Once upon', max_tokens: 4 });
  assert.equal(c.object, 'text_completion');
  assert.ok(c.choices[0].text.length > 0);
  const r = await ours().responses.create({ model: 'remote/plas-mini', input: 'Hi', max_output_tokens: 4 });
  assert.equal(r.object, 'response');
  // The remote knows the extension: a bad value there is its 400, naming its field, under our provider's name.
  const bad = await http(server.port, '/v1/chat/completions', {
    method: 'POST',
    headers: bearer(OUR_KEY),
    body: { model: 'remote/plas-mini', ...ASK, plas: { plas_decoder_top_k_left: 0 } },
  });
  assert.equal(bad.status, 400, bad.body);
  assert.equal(bad.json().error.code, 'provider_error');
  assert.match(bad.json().error.message, /^Provider "remote": /);
  assert.match(bad.json().error.param, /^plas/);
  assert.equal(bad.headers['x-plas-note'], undefined);
});

it("maps the remote's own refusal (no key) to OpenAI's shape with its name", async () => {
  const r = await http(server.port, '/api/providers/remote', {
    method: 'PATCH',
    headers: bearer(server.token),
    body: { apiKey: '' },
  });
  assert.equal(r.json().hasKey, false);
  assert.equal(r.json().status.state, 'down');
  assert.match(r.json().status.error, /^Provider "remote": this server needs an API key/);
  await assert.rejects(
    ours().chat.completions.create({ model: 'remote/plas-mini', ...ASK }),
    (e: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(e.status, 401);
      assert.match(e.message, /Provider "remote": this server needs an API key/);
      return true;
    },
  );
});
