/**
 * The installed app's server start command, run the way the desktop shell runs it: tools/build-server.ts compiles the
 * server to JavaScript with a production-only install (`npm ci --omit=dev` in a temporary folder), laid out as the
 * installer lays out its resources (server/ and node/bin/node), and packagedServerCommand starts it under the
 * supervisor. It must print its ready line, load PLAS Mini, answer a chat completion (with a JSON schema: the grammar
 * worker must load from compiled files) and serve the UI, with no tsx and no devDependency present.
 * The runtime here is this machine's node (install scripts skipped, native builds copied: see build-server.ts); the
 * shipped Node 26 runtime is fetched only by `npm run dist`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RotatingLog } from '../../../main/electron/rotating-log.ts';
import { packagedServerCommand } from '../../../main/electron/server-command.ts';
import { ServerSupervisor, type SupervisorEvent } from '../../../main/electron/server-supervisor.ts';
import { buildServer } from '../../../tools/build-server.ts';

test('the packaged server starts from a production-only install and serves chat and the UI', async (t) => {
  const resources = mkdtempSync(join(tmpdir(), 'plas-resources-'));
  const server = buildServer({ outDir: join(resources, 'server'), ignoreScripts: true, log: () => {} });
  for (const dev of ['tsx', 'typescript', 'vite', 'svelte', 'electron', 'openai']) {
    assert.equal(existsSync(join(server, 'node_modules', dev)), false, `${dev} is a devDependency`);
  }
  assert.equal(existsSync(join(server, 'main', 'cli', 'plas.ts')), false, 'no TypeScript sources are shipped');
  mkdirSync(join(resources, 'node', 'bin'), { recursive: true });
  symlinkSync(process.execPath, join(resources, 'node', 'bin', 'node'));

  const dataDir = mkdtempSync(join(tmpdir(), 'plas-packaged-data-'));
  const command = packagedServerCommand(resources, 'linux', dataDir, process.env);
  assert.equal(command.command, join(resources, 'node', 'bin', 'node'));
  const log = new RotatingLog(join(dataDir, 'logs', 'server.log'));
  const events: SupervisorEvent[] = [];
  const modelReady = new Promise<void>((resolve, reject) => {
    const supervisor = new ServerSupervisor({
      command,
      log,
      maxCrashes: 1,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'model-ready') resolve();
        if (e.type === 'gave-up' || e.type === 'model-error')
          reject(new Error(`${e.type}: ${log.tail(30).join('\n')}`));
      },
    });
    t.after(() => supervisor.stop());
    supervisor.start();
  });
  await modelReady;
  const ready = events.find((e) => e.type === 'ready') as Extract<SupervisorEvent, { type: 'ready' }>;

  const page = await fetch(`${ready.url}/`, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<div id="app">/);

  const response = await fetch(`${ready.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plas-mini',
      messages: [{ role: 'user', content: 'Give me a number.' }],
      max_tokens: 24,
      temperature: 0,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'n',
          strict: true,
          schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
        },
      },
    }),
  });
  const body = (await response.json()) as {
    choices: { message: { content: string } }[];
    usage: { completion_tokens: number };
  };
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.ok(body.usage.completion_tokens > 0);
  assert.match(body.choices[0].message.content, /^\{"n": ?-?\d*/, 'the grammar held the output to the schema');
});
