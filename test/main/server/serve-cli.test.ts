/**
 * `plas serve` as the desktop app runs it: a child process that loads the bundled PLAS Mini (no --model), prints one
 * JSON ready line on stdout, writes the token 0600 into a 0700 data dir, serves on loopback, and on SIGTERM ends the
 * streams in flight and exits 0 within 5 s. Mistakes print `error: <message>` and exit 1, without a stack.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { bearer, http, readSse } from './server-fixture.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const PLAS = [join(root, 'main/cli/plas.ts'), 'serve', '--software'];
let dir: string;
let child: ChildProcess | null = null;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-serve-'));
});
after(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

interface Ready {
  event: string;
  url: string;
  port: number;
  token: string;
}

it('serves PLAS Mini, prints the ready line, and exits 0 within 5 s of SIGTERM, ending streams in flight', async () => {
  const xdg = join(dir, 'xdg');
  child = spawn(
    process.execPath,
    ['--import', 'tsx', ...PLAS, '--port', '0', '--kv-cache-memory', '16', '--max-num-seqs', '4'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: xdg } },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child!.stdout!.on('data', (c) => {
      stdout += c;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0]));
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });

  // The ready line, and the human line with the URL and its token.
  assert.deepEqual(Object.keys(ready).sort(), ['event', 'port', 'token', 'url']);
  assert.equal(ready.event, 'ready');
  assert.equal(ready.url, `http://127.0.0.1:${ready.port}`);
  assert.match(stderr, new RegExp(`ready at http://127\\.0\\.0\\.1:${ready.port}/\\?token=${ready.token}`));
  // The data dir follows XDG_DATA_HOME; it is 0700 and the token file in it 0600.
  const dataDir = join(xdg, 'plas-studio');
  assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dataDir, 'server.token'))).mode & 0o777, 0o600);
  assert.equal((await readFile(join(dataDir, 'server.token'), 'utf8')).trim(), ready.token);
  assert.ok(ready.token.length >= 40);

  const health = await http(ready.port, '/api/health');
  assert.equal(health.status, 200);
  assert.equal(health.json().adapter.architecture, 'swiftshader');
  const evil = await http(ready.port, '/api/health', { headers: { host: 'evil.example' } });
  assert.equal(evil.status, 403);
  assert.match(evil.json().error.message, /Host evil\.example is not allowed/);

  // Without --model, PLAS Mini is registered and loaded.
  let status = 0;
  for (let i = 0; i < 600 && status !== 200; i++) {
    status = (await http(ready.port, '/health')).status;
    if (status !== 200) await sleep(100);
  }
  assert.deepEqual((await http(ready.port, '/health')).json(), { status: 'ok', model: 'plas-mini' });
  const models = (await http(ready.port, '/api/models', { headers: bearer(ready.token) })).json().models;
  assert.equal(models.length, 1);
  assert.equal(models[0].name, 'plas-mini');
  assert.equal(models[0].architecture, 'LlamaForCausalLM');
  assert.equal(models[0].loaded, true);

  // Two streams in flight: a long generation, and the app's stats stream.
  const client = new OpenAI({ baseURL: `${ready.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const params: OpenAI.Chat.ChatCompletionCreateParamsStreaming & { ignore_eos: boolean } = {
    model: 'plas-mini',
    messages: [{ role: 'user', content: 'Tell me a long story.' }],
    max_tokens: 1500,
    stream: true,
    ignore_eos: true, // vLLM's extension: the generation cannot stop early at an end-of-sequence token
  };
  const generation = await client.chat.completions.create(params);
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  // The stream ends either with a last chunk or with the server's error event (the /v1 routes decide which an
  // engine closed under a request gets); either way it ends, and the server sent it, the connection did not drop.
  const reading = (async () => {
    try {
      for await (const chunk of generation) chunks.push(chunk);
      return 'finished';
    } catch (error) {
      const e = error as { error?: { type?: string }; message: string };
      assert.ok(e.error?.type, `not a server-sent error: ${e.message}`);
      return e.error.type;
    }
  })();
  const stats = readSse(ready.port, '/api/stats/stream', { headers: bearer(ready.token) });
  while (chunks.length < 3) await sleep(20);

  const signalled = performance.now();
  child.kill('SIGTERM');
  const code = await exited;
  const seconds = (performance.now() - signalled) / 1000;
  assert.equal(code, 0, stderr);
  assert.ok(seconds < 5, `exited after ${seconds.toFixed(2)} s`);
  assert.match(await reading, /finished|service_unavailable_error/);
  assert.ok(chunks.length < 1500, 'it was cut short');
  assert.equal((await stats).endedByServer, true);
  // stdout is for the desktop app: the ready line, then the launch model's load as JSON lines, nothing else.
  const events = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string; model?: string; loaded?: number; total?: number });
  assert.equal(events[0].event, 'ready');
  assert.deepEqual([...new Set(events.slice(1).map((e) => e.event))], ['model-progress', 'model-ready']);
  assert.ok(events.slice(1).every((e) => e.model === 'plas-mini'));
  const last = events.filter((e) => e.event === 'model-progress').at(-1);
  assert.equal(last?.loaded, last?.total, 'the last progress line is the whole model');
});

const run = promisify(execFile);
const plas = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', ...PLAS, ...args], {
    cwd: root,
    env: { ...process.env, XDG_DATA_HOME: dir },
  });

it('a mistake prints error: <message> and exits 1, without a stack unless --debug', async () => {
  const fails = async (args: string[], message: RegExp, stack = false) => {
    const result = await plas(...args).then(
      () => assert.fail(`plas serve ${args.join(' ')} succeeded`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, message);
    assert.equal(/\n\s+at /.test(result.stderr), stack, result.stderr);
  };
  await fails(['--host', '0.0.0.0', '--port', '0'], /^error: binding 0\.0\.0\.0 would expose the server .*--api-key/m);
  await fails(['--model', join(dir, 'missing'), '--port', '0'], /^error: .*missing does not exist/m);
  await fails(['--keep-alive', '5x'], /error: option '--keep-alive <duration>' argument '5x' is invalid/);
  await fails(['--cors-origin', 'not an origin'], /is not an origin/);
  await fails(['--max-num-seqs', '2000'], /^error: max_num_seqs \(2000\) must be an integer in \[1, 1024\]/m);
  await fails(
    ['--model', join(dir, 'missing'), '--port', '0', '--debug'],
    /ServeError: .*missing does not exist/,
    true,
  );
});
