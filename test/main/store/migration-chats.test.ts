/**
 * Migration 2 (chats) on real files: a version 1 database keeps its models, a database at every earlier version
 * opens and reaches the latest, and the new tables enforce their rules (foreign keys, roles, JSON).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import Database from 'better-sqlite3';
import { ChatsRepository } from '../../../main/store/chats-repo.ts';
import { openDatabase, schemaVersion } from '../../../main/store/database.ts';
import { MIGRATIONS } from '../../../main/store/migrations.ts';
import { type ModelRecord, ModelsRepository } from '../../../main/store/models-repo.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-migrate-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const model: ModelRecord = {
  name: 'org/tiny',
  path: '/models/tiny',
  architecture: 'LlamaForCausalLM',
  parameters: 1234,
  dtype: 'f16',
  contextLength: 2048,
  sizeBytes: 5678,
  addedAt: 1_700_000_000_000,
  keepAliveMs: 60_000,
};

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[]).filter(
    (n) => !n.startsWith('sqlite_') && !n.includes('_fts_'),
  );

it('migrates a version 1 database with models to version 2, keeping the models', () => {
  const path = join(dir, 'v1.db');
  const v1 = openDatabase(path, MIGRATIONS.slice(0, 1));
  new ModelsRepository(v1).add(model);
  v1.close();
  const raw = new Database(path);
  assert.equal(raw.pragma('user_version', { simple: true }), 1);
  assert.deepEqual(tables(raw), ['models']);
  raw.close();

  const db = openDatabase(path, MIGRATIONS.slice(0, 2)); // to version 2 exactly (later migrations add more tables)
  assert.equal(schemaVersion(db), 2);
  assert.deepEqual(new ModelsRepository(db).list(), [model]);
  assert.deepEqual(tables(db), [
    'attachments',
    'conversations',
    'conversations_fts',
    'messages',
    'messages_fts',
    'model_settings',
    'models',
    'presets',
  ]);
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  // The new tables work on the migrated file.
  const chats = new ChatsRepository(db);
  const c = chats.create({ title: 'after migration' });
  chats.addMessage(c.id, { parentId: null, role: 'user', content: 'hello' });
  assert.equal(chats.thread(c.id).messages[0].content, 'hello');
  db.close();
});

it('opens a database from every earlier version, and a reopen at the latest changes nothing', () => {
  for (let v = 0; v <= MIGRATIONS.length; v++) {
    const path = join(dir, `at-${v}.db`);
    if (v > 0) openDatabase(path, MIGRATIONS.slice(0, v)).close();
    const db = openDatabase(path);
    assert.equal(schemaVersion(db), MIGRATIONS.length, `from version ${v}`);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
    const again = openDatabase(path);
    assert.equal(schemaVersion(again), MIGRATIONS.length);
    again.close();
  }
});

it('a database newer than this version is refused', () => {
  const path = join(dir, 'newer.db');
  openDatabase(path).close();
  const raw = new Database(path);
  raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  raw.close();
  assert.throws(
    () => openDatabase(path),
    new RegExp(
      `written by a newer PLAS Studio \\(schema version ${MIGRATIONS.length + 1}; this version knows up to ${MIGRATIONS.length}\\)`,
    ),
  );
});

it('the chat tables enforce their rules', () => {
  const db = openDatabase(join(dir, 'rules.db'));
  const t = Date.now();
  db.prepare("INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c', 't', ?, ?)").run(t, t);
  const insert = (id: string, conversation: string, parent: string | null, role = 'user', metadata = '{}') =>
    db
      .prepare(
        'INSERT INTO messages (id, conversation_id, parent_id, role, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(id, conversation, parent, role, metadata, t);
  insert('m1', 'c', null);
  assert.throws(() => insert('m2', 'nope', null), /FOREIGN KEY/);
  assert.throws(() => insert('m3', 'c', 'ghost'), /FOREIGN KEY/);
  assert.throws(() => insert('m4', 'c', 'm1', 'robot'), /CHECK/);
  assert.throws(() => insert('m5', 'c', 'm1', 'user', '{not json'), /CHECK/);
  assert.throws(
    () => db.prepare("INSERT INTO model_settings (model, settings, updated_at) VALUES ('x', 'nope', 1)").run(),
    /CHECK/,
  );
  db.close();
});
