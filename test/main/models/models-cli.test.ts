/** `plas models list` and `plas models pull` as a user runs them, against a fake home and a hub on loopback. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type FakeHome, makeFakeHome } from './fake-trees.ts';
import { commitOf, type LocalHub, startLocalHub } from './local-hub.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
let fake: FakeHome;
let hub: LocalHub;

const plas = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'main/cli/plas.ts'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: fake.home, ...env },
  });

before(async () => {
  fake = await makeFakeHome(await mkdtemp(join(tmpdir(), 'plas-models-cli-')));
  hub = await startLocalHub();
  hub.repos.set('acme/cli', {
    commit: commitOf('cli'),
    files: {
      'cli-Q4_K_M.gguf': Buffer.alloc(50_000, 3),
      'cli-Q8_0.gguf': Buffer.alloc(70_000, 4),
      'README.md': Buffer.from('hi'),
    },
  });
  hub.repos.set('acme/gated', { commit: commitOf('gated'), files: { 'g.gguf': Buffer.alloc(10) }, gated: true });
});
after(async () => {
  await hub.close();
  await rm(fake.home, { recursive: true, force: true });
});

test('plas models list shows each found model with why it cannot run; --json for scripts; --folder adds one', async () => {
  const { stdout } = await plas(['models', 'list', '--data-dir', join(fake.home, 'data')]);
  assert.match(stdout, /^SOURCE +NAME +FORMAT +ARCHITECTURE +QUANT +SIZE +RUNNABLE$/m);
  assert.match(stdout, /^ollama +tiny:q4 +gguf +llama +Q4_K_M +\d[\d.]* kB +yes$/m);
  assert.match(stdout, /^huggingface +acme\/tiny-GGUF\/tiny-Q2_K\.gguf .* no: quant type q2_k not supported/m);
  const json = JSON.parse(
    (await plas(['models', 'list', '--json', '--folder', fake.folder, '--data-dir', join(fake.home, 'data')])).stdout,
  );
  const tiny = json.models.find((m: { name: string }) => m.name === 'acme/tiny-llama');
  assert.equal(tiny.architecture, 'LlamaForCausalLM');
  assert.equal(tiny.runnable, true);
  assert.ok(json.models.some((m: { source: string }) => m.source === 'folder'));
});

test('plas models pull fetches the files a pattern picks into the HF cache and prints their paths', async () => {
  const { stdout, stderr } = await plas(['models', 'pull', 'acme/cli', '--file', '*Q4_K_M*'], {
    HF_ENDPOINT: hub.endpoint,
  });
  const path = join(
    fake.home,
    '.cache',
    'huggingface',
    'hub',
    'models--acme--cli',
    'snapshots',
    commitOf('cli'),
    'cli-Q4_K_M.gguf',
  );
  assert.equal(stdout.trim(), path);
  assert.match(stderr, /acme\/cli@[0-9a-f]{10}: 1 file\(s\), 50\.0 kB/);
  assert.match(stderr, /run it: plas serve --model .*cli-Q4_K_M\.gguf/);
  assert.deepEqual(await readFile(path), Buffer.alloc(50_000, 3));
});

test('a gated model without HF_TOKEN: a clear error and exit 1', async () => {
  await assert.rejects(
    plas(['models', 'pull', 'acme/gated'], { HF_ENDPOINT: hub.endpoint }),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /^error: the model acme\/gated \(revision main\) needs a Hugging Face login \(401/m);
      return true;
    },
  );
  const { stdout } = await plas(['models', 'pull', 'acme/gated', '--json'], {
    HF_ENDPOINT: hub.endpoint,
    HF_TOKEN: hub.token,
  });
  assert.equal(JSON.parse(stdout).files[0].path, 'g.gguf');
});
