/**
 * The providers table (migration 3) on a real SQLite file: create, list, update, remove; the API key sealed with
 * AES-256-GCM (the plaintext never in the file), opened only with the same master key and the same provider name;
 * the master key's 0600 file and its hand-over on stdin; the desktop app's safeStorage-kept master key.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, it } from 'node:test';
import { desktopMasterKey, type SecretStorage } from '../../../main/electron/master-key-store.ts';
import { KeyBox, KeyBoxError } from '../../../main/server/providers/key-box.ts';
import { fileMasterKey, MasterKeyError, readMasterKeyLine } from '../../../main/server/providers/master-key.ts';
import { openDatabase, schemaVersion } from '../../../main/store/database.ts';
import { MIGRATIONS } from '../../../main/store/migrations.ts';
import { DuplicateProviderError, ProvidersRepository } from '../../../main/store/providers-repo.ts';

const dir = mkdtempSync(join(tmpdir(), 'plas-providers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = 'sk-test-Plaintext-Key-0123456789';

it('stores providers with the key sealed: never in the file, opened with the same master key only', () => {
  const path = join(dir, 'p.db');
  const master = randomBytes(32);
  let t = 1000;
  const db = openDatabase(path);
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  const repo = new ProvidersRepository(db, new KeyBox(master), () => t++);
  const a = repo.create({ name: 'gpu-box', baseUrl: 'http://gpu:8000/v1', kind: 'vllm', enabled: true, apiKey: KEY });
  assert.deepEqual(a, {
    name: 'gpu-box',
    baseUrl: 'http://gpu:8000/v1',
    kind: 'vllm',
    enabled: true,
    hasKey: true,
    createdAt: 1000,
    updatedAt: 1000,
  });
  repo.create({ name: 'another', baseUrl: 'http://x:1', kind: 'ollama', enabled: false });
  assert.deepEqual(
    repo.list().map((p) => [p.name, p.hasKey, p.enabled]),
    [
      ['another', false, false],
      ['gpu-box', true, true],
    ],
  );
  assert.throws(
    () => repo.create({ name: 'gpu-box', baseUrl: 'http://y', kind: 'openai', enabled: true }),
    DuplicateProviderError,
  );
  assert.equal(repo.apiKey('gpu-box'), KEY);
  assert.equal(repo.apiKey('another'), null);

  // Patches: only what is given changes; '' clears the key.
  const b = repo.update('gpu-box', { enabled: false });
  assert.equal(b.baseUrl, 'http://gpu:8000/v1');
  assert.equal(b.hasKey, true);
  assert.equal(b.enabled, false);
  assert.ok(b.updatedAt > b.createdAt);
  assert.equal(repo.update('gpu-box', { apiKey: '' }).hasKey, false);
  repo.update('gpu-box', { apiKey: KEY });
  db.close();

  const bytes = readFileSync(path);
  assert.ok(!bytes.includes(Buffer.from(KEY)), 'the plaintext key is in the database file');
  assert.ok(!bytes.includes(Buffer.from(KEY.slice(8, 24))), 'a part of the key is in the database file');

  // Another master key cannot open it; the right one can, after a reopen.
  const again = openDatabase(path);
  assert.throws(() => new ProvidersRepository(again, new KeyBox(randomBytes(32))).apiKey('gpu-box'), KeyBoxError);
  const same = new ProvidersRepository(again, new KeyBox(master));
  assert.equal(same.apiKey('gpu-box'), KEY);
  assert.equal(same.remove('another'), true);
  assert.equal(same.remove('another'), false);
  assert.deepEqual(
    same.list().map((p) => p.name),
    ['gpu-box'],
  );
  again.close();
});

it('the key box: fresh IVs, bound to the provider name, tampering detected', () => {
  const box = new KeyBox(randomBytes(32));
  const one = box.seal(KEY, 'a');
  const two = box.seal(KEY, 'a');
  assert.notEqual(one, two, 'a fresh IV each time');
  assert.match(one, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(box.open(one, 'a'), KEY);
  assert.throws(() => box.open(one, 'b'), KeyBoxError, 'moved to another provider');
  const parts = one.split('.');
  const data = Buffer.from(parts[3], 'base64url');
  data[0] ^= 1;
  assert.throws(() => box.open([...parts.slice(0, 3), data.toString('base64url')].join('.'), 'a'), KeyBoxError);
  assert.throws(() => box.open('plain-text', 'a'), /unknown format/);
  assert.throws(() => new KeyBox(randomBytes(16)), /32 bytes/);
  // Its messages never carry the key.
  try {
    box.open(one, 'b');
  } catch (error) {
    assert.ok(!(error as Error).message.includes(KEY));
  }
});

it('the master key file is made 0600 once and read back; a wider one is tightened', () => {
  const d = mkdtempSync(join(dir, 'mk-'));
  const a = fileMasterKey(d);
  assert.equal(a.length, 32);
  const path = join(d, 'provider-keys.key');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(fileMasterKey(d), a);
  writeFileSync(path, `${a.toString('base64')}\n`, { mode: 0o644 });
  assert.deepEqual(fileMasterKey(d), a);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  writeFileSync(path, 'garbage');
  assert.throws(() => fileMasterKey(d), MasterKeyError);
});

it('reads the master key from a stream (stdin), an empty line meaning none, and never waits forever', async () => {
  const key = randomBytes(32);
  const s1 = new PassThrough();
  const read = readMasterKeyLine(s1);
  s1.write(`${key.toString('base64').slice(0, 10)}`);
  s1.write(`${key.toString('base64').slice(10)}\n`);
  assert.deepEqual(await read, key);
  const s2 = new PassThrough();
  const none = readMasterKeyLine(s2);
  s2.end('\n');
  assert.equal(await none, null);
  await assert.rejects(readMasterKeyLine(new PassThrough(), 50), /no master key on stdin within 0.05 s/);
  const s3 = new PassThrough();
  const bad = readMasterKeyLine(s3);
  s3.end('short\n');
  await assert.rejects(bad, /stdin: not a master key/);
});

/** Encrypts as safeStorage does (with a key of its own), so the file holds no plaintext. */
function aesStorage(backend = 'gnome_libsecret'): SecretStorage {
  const k = randomBytes(32);
  return {
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => backend,
    encryptString(plain) {
      const iv = randomBytes(16);
      const c = createCipheriv('aes-256-cbc', k, iv);
      return Buffer.concat([iv, c.update(plain, 'utf8'), c.final()]);
    },
    decryptString(b) {
      const d = createDecipheriv('aes-256-cbc', k, b.subarray(0, 16));
      return Buffer.concat([d.update(b.subarray(16)), d.final()]).toString('utf8');
    },
  };
}

it("the desktop app's master key: kept by the platform's storage, adopting a headless key, none without storage", () => {
  const d = mkdtempSync(join(dir, 'desk-'));
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const headless = fileMasterKey(d); // `plas serve` ran here before
  const storage = aesStorage();
  const key = desktopMasterKey(d, storage, log);
  assert.deepEqual(key, headless, 'the keys saved by plas serve still open');
  assert.equal(existsSync(join(d, 'provider-keys.key')), false, 'the plaintext file is gone');
  const safe = readFileSync(join(d, 'provider-keys.safe'));
  assert.ok(!safe.includes(Buffer.from(headless.toString('base64'))));
  assert.equal(statSync(join(d, 'provider-keys.safe')).mode & 0o777, 0o600);
  assert.deepEqual(desktopMasterKey(d, storage, log), headless, 'read back');
  // Another keyring cannot open it: the server's own file stands in (and the log says why).
  assert.equal(desktopMasterKey(d, aesStorage(), log), null);
  assert.match(logs.join('\n'), /could not be decrypted/);
  // No real secret storage (Linux's basic_text, or none): null, so the server keeps its 0600 file.
  assert.equal(desktopMasterKey(mkdtempSync(join(dir, 'plain-')), aesStorage('basic_text'), log), null);
  assert.equal(
    desktopMasterKey(mkdtempSync(join(dir, 'none-')), { ...aesStorage(), isEncryptionAvailable: () => false }, log),
    null,
  );
});

it('migration 3 adds the providers table to a version 2 database, keeping what was there', () => {
  const path = join(dir, 'v2.db');
  const v2 = openDatabase(path, MIGRATIONS.slice(0, 2));
  v2.prepare(
    'INSERT INTO presets (id, name, system_prompt, sampling, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run('p1', 'kept', null, '{}', 1, 1);
  v2.close();
  const db = openDatabase(path);
  assert.equal(schemaVersion(db), 3);
  assert.equal((db.prepare('SELECT name FROM presets').get() as { name: string }).name, 'kept');
  const repo = new ProvidersRepository(db, new KeyBox(randomBytes(32)));
  assert.deepEqual(repo.list(), []);
  assert.throws(
    () => db.prepare("INSERT INTO providers VALUES ('x', 'http://x', 'openai', NULL, 2, 0, 0)").run(),
    /CHECK constraint/,
  );
  db.close();
});
