/** The SQLite store on a real file: schema versions, migrations from an older version, and refusals that lose nothing. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import Database from 'better-sqlite3';
import { DatabaseError, openDatabase, schemaVersion } from '../../../main/store/database.ts';
import { MIGRATIONS, type Migration } from '../../../main/store/migrations.ts';
import { DuplicateModelError, type ModelRecord, ModelsRepository } from '../../../main/store/models-repo.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-store-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const record = (name: string, path = `/models/${name}`): ModelRecord => ({
  name,
  path,
  architecture: 'LlamaForCausalLM',
  parameters: 1234,
  dtype: 'f16',
  contextLength: 2048,
  sizeBytes: 5678,
  addedAt: 1_700_000_000_000,
  keepAliveMs: null,
});

it('a new database is at the latest schema version, in WAL mode', () => {
  const db = openDatabase(join(dir, 'fresh.db'));
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

it('the models repository adds, lists, finds, updates and removes models', () => {
  const path = join(dir, 'repo.db');
  let db = openDatabase(path);
  let repo = new ModelsRepository(db);
  repo.add(record('b'));
  repo.add({ ...record('a'), addedAt: 1_800_000_000_000 });
  assert.throws(() => repo.add(record('a', '/elsewhere')), DuplicateModelError);
  assert.deepEqual(
    repo.list().map((m) => m.name),
    ['b', 'a'],
    'oldest first',
  );
  assert.deepEqual(repo.get('b'), record('b'));
  assert.equal(repo.get('nope'), undefined);
  assert.equal(repo.findByPath('/models/a')?.name, 'a');
  assert.equal(repo.setKeepAlive('a', 60_000), true);
  repo.updateSummary('b', {
    architecture: 'Qwen3ForCausalLM',
    parameters: 1,
    dtype: 'bf16',
    contextLength: 4096,
    sizeBytes: 9,
  });
  db.close();
  // Everything survives a reopen: it is on disk, not in memory.
  db = openDatabase(path);
  repo = new ModelsRepository(db);
  assert.equal(repo.get('a')?.keepAliveMs, 60_000);
  assert.deepEqual(repo.get('b'), {
    ...record('b'),
    architecture: 'Qwen3ForCausalLM',
    parameters: 1,
    dtype: 'bf16',
    contextLength: 4096,
    sizeBytes: 9,
  });
  assert.equal(repo.remove('b'), true);
  assert.equal(repo.remove('b'), false);
  assert.deepEqual(
    repo.list().map((m) => m.name),
    ['a'],
  );
  db.close();
});

it('a database of an older schema version is migrated forward, keeping its rows', () => {
  const path = join(dir, 'old.db');
  const v1 = openDatabase(path, MIGRATIONS.slice(0, 1));
  new ModelsRepository(v1).add(record('kept'));
  v1.close();
  const next: Migration = {
    name: 'test: model notes',
    up(db) {
      db.exec('ALTER TABLE models ADD COLUMN notes TEXT');
      db.exec("UPDATE models SET notes = 'migrated'");
    },
  };
  const db = openDatabase(path, [...MIGRATIONS.slice(0, 1), next]);
  assert.equal(schemaVersion(db), 2);
  assert.deepEqual(new ModelsRepository(db).get('kept'), record('kept'));
  assert.equal(
    (db.prepare("SELECT notes FROM models WHERE name = 'kept'").get() as { notes: string }).notes,
    'migrated',
  );
  db.close();
});

it('a failing migration leaves the database at its previous version, unchanged', () => {
  const path = join(dir, 'failing.db');
  openDatabase(path).close();
  const broken: Migration = {
    name: 'test: broken',
    up(db) {
      db.exec('CREATE TABLE half_done (x INTEGER)');
      db.exec('THIS IS NOT SQL');
    },
  };
  assert.throws(
    () => openDatabase(path, [...MIGRATIONS, broken]),
    (e: Error) =>
      e instanceof DatabaseError &&
      new RegExp(
        `migration ${MIGRATIONS.length + 1} \\(test: broken\\) failed, the database stays at version ${MIGRATIONS.length}`,
      ).test(e.message),
  );
  const db = openDatabase(path);
  assert.equal(schemaVersion(db), MIGRATIONS.length);
  assert.equal(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'half_done'").get(), undefined);
  db.close();
});

it('a database from a newer PLAS Studio is refused and left as it is', async () => {
  const path = join(dir, 'newer.db');
  const raw = new Database(path);
  raw.exec('CREATE TABLE models (name TEXT PRIMARY KEY)');
  raw.pragma(`user_version = ${MIGRATIONS.length + 5}`);
  raw.close();
  const before = await readFile(path);
  const latest = MIGRATIONS.length;
  assert.throws(
    () => openDatabase(path),
    new RegExp(`written by a newer PLAS Studio \\(schema version ${latest + 5}; this version knows up to ${latest}\\)`),
  );
  assert.deepEqual(await readFile(path), before);
});

it('a corrupt file and another program’s database are refused, never overwritten', async () => {
  const corrupt = join(dir, 'corrupt.db');
  const garbage = Buffer.from('this is not a database, just some bytes that happen to be here'.repeat(100));
  await writeFile(corrupt, garbage);
  assert.throws(() => openDatabase(corrupt), /is not a valid PLAS Studio database .*move it aside/);
  assert.deepEqual(await readFile(corrupt), garbage);

  const foreign = join(dir, 'foreign.db');
  const raw = new Database(foreign);
  raw.exec("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ada')");
  raw.close();
  assert.throws(() => openDatabase(foreign), /is not a PLAS Studio database \(it has tables contacts/);
  const check = new Database(foreign);
  assert.deepEqual(check.prepare('SELECT name FROM contacts').all(), [{ name: 'ada' }]);
  assert.equal(check.pragma('user_version', { simple: true }), 0);
  check.close();
});
