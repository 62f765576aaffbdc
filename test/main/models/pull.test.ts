/**
 * Downloads from a hub on loopback into the Hugging Face cache layout: a full pull, a pattern, an interruption
 * mid-file then a resume that fetches only the missing bytes, a checksum mismatch, a 404, a 401 (and the same pull
 * with HF_TOKEN), and a cancel that keeps the partial file for the next pull.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import type { PullError } from '../../../main/models/hub/hub-errors.ts';
import { pullModel } from '../../../main/models/hub/pull.ts';
import { commitOf, gitBlobId, type LocalHub, sha256, startLocalHub } from './local-hub.ts';

let hub: LocalHub;
let cache: string;
const weights = randomBytes(300_000);
const config = Buffer.from(JSON.stringify({ architectures: ['LlamaForCausalLM'] }));
const COMMIT = commitOf('tiny');
const repoDir = () => join(cache, 'models--acme--tiny');
const bytesOf = (path: string) => hub.log.filter((r) => r.url.endsWith(path)).reduce((n, r) => n + r.bytesSent, 0);

before(async () => {
  hub = await startLocalHub();
  hub.repos.set('acme/tiny', {
    commit: COMMIT,
    files: { 'config.json': config, 'tiny-Q4_K_M.gguf': weights, 'sub/notes.md': Buffer.from('# notes\n') },
  });
  hub.repos.set('acme/gated', { commit: commitOf('gated'), files: { 'a.gguf': randomBytes(1000) }, gated: true });
});
after(() => hub.close());
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'plas-hub-cache-'));
  hub.log.length = 0;
  hub.corrupt.clear();
  hub.cutAfter = null;
  hub.trickle = { chunk: 0, delayMs: 0 };
  hub.redirectLfs = false;
});

const pull = (repo: string, extra: Partial<Parameters<typeof pullModel>[0]> = {}) =>
  pullModel({ repo, cache, endpoint: hub.endpoint, ...extra });

test('a full pull lands in the HF cache layout: blobs by etag, relative snapshot links, refs/main', async () => {
  const progress: number[] = [];
  const result = await pull('acme/tiny', { onProgress: (p) => progress.push(p.doneBytes) });
  assert.equal(result.commit, COMMIT);
  assert.equal(result.snapshot, join(repoDir(), 'snapshots', COMMIT));
  assert.equal(result.totalBytes, weights.length + config.length + 8);
  assert.equal(result.fetchedBytes, result.totalBytes);
  assert.equal(progress.at(-1), result.totalBytes, 'progress ends at the total');
  assert.ok(
    progress.every((p, i) => i === 0 || p >= progress[i - 1]),
    'progress only grows',
  );
  assert.equal(await readFile(join(repoDir(), 'refs', 'main'), 'utf8'), COMMIT);
  // LFS files are named by their sha256, the others by their git blob id, and linked relatively from the snapshot.
  assert.deepEqual(await readFile(join(repoDir(), 'blobs', sha256(weights))), weights);
  assert.deepEqual(await readFile(join(repoDir(), 'blobs', gitBlobId(config))), config);
  assert.equal(await readlink(join(result.snapshot, 'tiny-Q4_K_M.gguf')), `../../blobs/${sha256(weights)}`);
  assert.equal(
    await readlink(join(result.snapshot, 'sub', 'notes.md')),
    `../../../blobs/${gitBlobId(Buffer.from('# notes\n'))}`,
  );
  assert.equal(await readFile(join(result.snapshot, 'sub', 'notes.md'), 'utf8'), '# notes\n');

  // Pulling again fetches nothing: every blob is there.
  hub.log.length = 0;
  const again = await pull('acme/tiny');
  assert.equal(again.fetchedBytes, 0);
  assert.equal(hub.log.filter((r) => r.url.includes('/resolve/')).length, 0);
  await rm(cache, { recursive: true });
});

test('--file picks files by a glob; a pattern that matches nothing lists what there is', async () => {
  const result = await pull('acme/tiny', { file: '*Q4_K_M.gguf' });
  assert.deepEqual(result.paths, [join(repoDir(), 'snapshots', COMMIT, 'tiny-Q4_K_M.gguf')]);
  assert.equal(existsSync(join(result.snapshot, 'config.json')), false);
  await assert.rejects(pull('acme/tiny', { file: '*.safetensors' }), (e: PullError) => {
    assert.equal(e.code, 'no_files');
    assert.match(
      e.message,
      /no file of acme\/tiny matches "\*\.safetensors" \(its files: config\.json, tiny-Q4_K_M\.gguf/,
    );
    return true;
  });
  await rm(cache, { recursive: true });
});

test('an interrupted download resumes with a Range request: the bytes already there are not fetched again', async () => {
  hub.cutAfter = { path: 'tiny-Q4_K_M.gguf', bytes: 120_000 };
  await assert.rejects(pull('acme/tiny', { file: '*.gguf' }), (e: PullError) => {
    assert.equal(e.code, 'network');
    assert.match(e.message, /of 300000 bytes of tiny-Q4_K_M\.gguf.*pull again to resume/);
    return true;
  });
  const partial = join(repoDir(), 'blobs', `${sha256(weights)}.incomplete`);
  assert.equal((await stat(partial)).size, 120_000);
  assert.equal(
    existsSync(join(repoDir(), 'snapshots', COMMIT, 'tiny-Q4_K_M.gguf')),
    false,
    'no link to a partial file',
  );

  const result = await pull('acme/tiny', { file: '*.gguf' });
  const resumed = hub.log.filter((r) => r.url.endsWith('.gguf')).at(-1);
  assert.equal(resumed?.range, 'bytes=120000-');
  assert.equal(resumed?.status, 206);
  assert.equal(bytesOf('.gguf'), weights.length, 'every byte was sent exactly once over both pulls');
  assert.equal(result.fetchedBytes, weights.length - 120_000);
  assert.deepEqual(await readFile(result.paths[0]), weights);
  assert.equal(existsSync(partial), false);
  await rm(cache, { recursive: true });
});

test('a checksum mismatch keeps nothing and says which file', async () => {
  hub.corrupt.add('tiny-Q4_K_M.gguf');
  await assert.rejects(pull('acme/tiny'), (e: PullError) => {
    assert.equal(e.code, 'checksum');
    assert.match(
      e.message,
      /tiny-Q4_K_M\.gguf is corrupt: its sha256 is [0-9a-f]{64}, the hub lists [0-9a-f]{64}; the file was deleted/,
    );
    return true;
  });
  assert.equal(existsSync(join(repoDir(), 'blobs', sha256(weights))), false);
  assert.equal(existsSync(join(repoDir(), 'blobs', `${sha256(weights)}.incomplete`)), false);
  assert.equal(existsSync(join(repoDir(), 'snapshots', COMMIT, 'tiny-Q4_K_M.gguf')), false);
  assert.equal(existsSync(join(repoDir(), 'refs', 'main')), false, 'a failed pull writes no ref');
  await rm(cache, { recursive: true });
});

test('a 404 names the model and the revision; a bad name is refused before any request', async () => {
  await assert.rejects(pull('acme/nothing'), (e: PullError) => {
    assert.equal(e.code, 'not_found');
    assert.match(
      e.message,
      /the model acme\/nothing \(revision main\) was not found on http:\/\/127\.0\.0\.1:\d+ \(404\)/,
    );
    return true;
  });
  await assert.rejects(pull('acme/tiny', { revision: 'v9' }), /revision v9\) was not found/);
  hub.log.length = 0;
  await assert.rejects(pull('../etc'), /must be ORG\/NAME/);
  await assert.rejects(pull('acme/tiny', { revision: '../../x' }), /revision "\.\.\/\.\.\/x" must be a branch/);
  assert.equal(hub.log.length, 0);
  await rm(cache, { recursive: true });
});

test('a gated model: 401 asks for HF_TOKEN; with the token it downloads', async () => {
  await assert.rejects(pull('acme/gated'), (e: PullError) => {
    assert.equal(e.code, 'auth');
    assert.match(e.message, /acme\/gated.*needs a Hugging Face login \(401.*set HF_TOKEN/);
    return true;
  });
  await assert.rejects(pull('acme/gated', { token: 'hf_wrong' }), /refused HF_TOKEN .*\(401\): the token is invalid/);
  const result = await pull('acme/gated', { token: hub.token });
  assert.equal(result.files.length, 1);
  assert.deepEqual(await readFile(result.paths[0]), hub.repos.get('acme/gated')?.files['a.gguf']);
  await rm(cache, { recursive: true });
});

test('a cancel stops at once and keeps the partial file; the next pull resumes it', async () => {
  hub.trickle = { chunk: 16_384, delayMs: 30 };
  const controller = new AbortController();
  await assert.rejects(
    pull('acme/tiny', {
      file: '*.gguf',
      signal: controller.signal,
      onProgress: (p) => {
        if (p.fileBytes >= 32_768) controller.abort();
      },
    }),
    (e: PullError) => {
      assert.equal(e.code, 'cancelled');
      assert.match(e.message, /cancelled \(tiny-Q4_K_M\.gguf is kept to resume\)/);
      return true;
    },
  );
  const partial = join(repoDir(), 'blobs', `${sha256(weights)}.incomplete`);
  const kept = (await stat(partial)).size;
  assert.ok(kept >= 32_768 && kept < weights.length, `kept ${kept} bytes`);
  assert.equal(existsSync(join(repoDir(), 'snapshots')), false, 'nothing linked');
  hub.trickle = { chunk: 0, delayMs: 0 };
  const result = await pull('acme/tiny', { file: '*.gguf' });
  assert.equal(result.fetchedBytes, weights.length - kept);
  assert.deepEqual(await readFile(result.paths[0]), weights);
  await rm(cache, { recursive: true });
});

test('LFS files redirected to a CDN, as huggingface.co does: the Range request follows the redirect and resumes', async () => {
  hub.redirectLfs = true;
  hub.cutAfter = { path: 'tiny-Q4_K_M.gguf', bytes: 100_000 };
  await assert.rejects(pull('acme/tiny', { file: '*.gguf' }), /pull again to resume/);
  const result = await pull('acme/tiny', { file: '*.gguf' });
  const cdn = hub.log.filter((r) => r.url.startsWith('/cdn/'));
  assert.equal(cdn.length, 2);
  assert.equal(cdn[1].range, 'bytes=100000-');
  assert.equal(cdn[1].bytesSent, weights.length - 100_000);
  assert.deepEqual(await readFile(result.paths[0]), weights);
  await rm(cache, { recursive: true });
});
