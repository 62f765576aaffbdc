/**
 * Conversations and message trees on a real SQLite file: branching (regenerate, edit), switching branches with the
 * sibling counts a "2/3" switcher shows, streaming appends, the trash (soft delete, restore, purge), and what survives
 * a reopen.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ChatStoreError } from '../../../main/store/chat-types.ts';
import { ChatsRepository } from '../../../main/store/chats-repo.ts';
import { type Db, openDatabase } from '../../../main/store/database.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-chats-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A clock that moves 1 ms per call, so "newest first" is decided by the order of the calls. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return () => ++t;
}

function open(name: string): { db: Db; chats: ChatsRepository } {
  const db = openDatabase(join(dir, name));
  return { db, chats: new ChatsRepository(db, clock()) };
}

const storeError = (kind: string, field: string) => (e: unknown) =>
  e instanceof ChatStoreError && e.kind === kind && e.field === field;

it('creates, lists newest activity first, renames and updates settings', () => {
  const { db, chats } = open('list.db');
  const a = chats.create({ title: 'first', model: 'tiny', sampling: { temperature: 0.5 } });
  const b = chats.create({ systemPrompt: 'be brief' });
  assert.equal(b.title, 'New chat');
  assert.deepEqual(
    chats.list().map((c) => c.id),
    [b.id, a.id],
  );
  // Activity in `a` (a message) moves it to the top.
  chats.addMessage(a.id, { parentId: null, role: 'user', content: 'hi' });
  assert.deepEqual(
    chats.list().map((c) => c.id),
    [a.id, b.id],
  );
  const renamed = chats.update(b.id, { title: 'second', sampling: { top_p: 0.9 }, systemPrompt: null });
  assert.equal(renamed.title, 'second');
  assert.equal(renamed.systemPrompt, null);
  assert.deepEqual(renamed.sampling, { top_p: 0.9 });
  assert.equal(renamed.model, null);
  assert.ok(renamed.updatedAt > b.updatedAt);
  assert.deepEqual(chats.get(a.id)?.sampling, { temperature: 0.5 });
  assert.throws(() => chats.update('nope', { title: 'x' }), storeError('not_found', 'id'));
  db.close();
});

it('branches on regenerate and edit, and switches branches with sibling positions', () => {
  const { db, chats } = open('branches.db');
  const c = chats.create();
  const u1 = chats.addMessage(c.id, { parentId: null, role: 'user', content: 'What is 2+2?' });
  const a1 = chats.addMessage(c.id, { parentId: u1.id, role: 'assistant', content: '4' });
  // Regenerate: a sibling of the assistant message.
  const a2 = chats.addMessage(c.id, { parentId: u1.id, role: 'assistant', content: 'Four.' });
  assert.equal(a2.siblingIndex, 1);
  assert.equal(a2.siblingCount, 2);
  assert.deepEqual(a2.siblingIds, [a1.id, a2.id]);
  const u2 = chats.addMessage(c.id, { parentId: a2.id, role: 'user', content: 'And 3+3?' });
  const a3 = chats.addMessage(c.id, { parentId: u2.id, role: 'assistant', content: '6' });

  let t = chats.thread(c.id);
  assert.equal(t.conversation.activeLeafId, a3.id, 'the newest message is the active leaf');
  assert.deepEqual(
    t.messages.map((m) => [m.content, m.siblingIndex, m.siblingCount]),
    [
      ['What is 2+2?', 0, 1],
      ['Four.', 1, 2],
      ['And 3+3?', 0, 1],
      ['6', 0, 1],
    ],
  );

  // Switch to the first answer: a leaf, shown alone after the prompt.
  chats.setActiveLeaf(c.id, a1.id);
  t = chats.thread(c.id);
  assert.deepEqual(
    t.messages.map((m) => [m.id, m.siblingIndex, m.siblingCount]),
    [
      [u1.id, 0, 1],
      [a1.id, 0, 2],
    ],
  );
  // Switching back to the second answer lands on the end of its branch, not on the answer itself.
  assert.equal(chats.setActiveLeaf(c.id, a2.id).activeLeafId, a3.id);

  // Edit the first prompt: a second root, with its own answer.
  const e1 = chats.addMessage(c.id, { parentId: null, role: 'user', content: 'What is 2+3?' });
  const ea = chats.addMessage(c.id, { parentId: e1.id, role: 'assistant', content: '5' });
  t = chats.thread(c.id);
  assert.deepEqual(
    t.messages.map((m) => [m.id, m.siblingIndex, m.siblingCount]),
    [
      [e1.id, 1, 2],
      [ea.id, 0, 1],
    ],
  );
  assert.deepEqual(t.messages[0].siblingIds, [u1.id, e1.id]);
  // Back to the first root: its newest leaf (a3, made after a1).
  assert.equal(chats.setActiveLeaf(c.id, u1.id).activeLeafId, a3.id);
  assert.equal(chats.allMessages(c.id).length, 7);

  // A parent or leaf from another conversation is refused, naming the field.
  const other = chats.create();
  assert.throws(
    () => chats.addMessage(other.id, { parentId: u1.id, role: 'user', content: 'x' }),
    storeError('not_found', 'parentId'),
  );
  assert.throws(() => chats.setActiveLeaf(other.id, a1.id), storeError('not_found', 'activeLeafId'));
  assert.equal(chats.thread(other.id).messages.length, 0);
  db.close();
});

it('streams into an incomplete message, merges metadata, and refuses appends once complete', () => {
  const path = join(dir, 'stream.db');
  const { db, chats } = open('stream.db');
  const c = chats.create();
  const u = chats.addMessage(c.id, {
    parentId: null,
    role: 'user',
    content: 'summarise this',
    attachments: [{ name: 'notes.txt', mime: 'text/plain', content: 'alpha beta', tokens: 3 }],
  });
  assert.deepEqual(
    u.attachments.map((a) => [a.name, a.mime, a.content, a.tokens, a.messageId]),
    [['notes.txt', 'text/plain', 'alpha beta', 3, u.id]],
  );
  const a = chats.addMessage(c.id, { parentId: u.id, role: 'assistant', complete: false, metadata: { model: 'tiny' } });
  assert.equal(a.complete, false);
  assert.equal(a.content, '');
  chats.updateMessage(a.id, { appendReasoning: 'think ' });
  chats.updateMessage(a.id, { append: 'Hello', appendReasoning: 'more' });
  chats.updateMessage(a.id, { append: ', world', metadata: { tokens: 3, ttftMs: 12.5 } });
  const done = chats.updateMessage(a.id, {
    complete: true,
    metadata: { tokensPerSecond: 40, plasDensity: 0.25, finishReason: 'stop', ttftMs: null },
  });
  assert.equal(done.content, 'Hello, world');
  assert.equal(done.reasoning, 'think more');
  assert.equal(done.complete, true);
  assert.deepEqual(done.metadata, {
    model: 'tiny',
    tokens: 3,
    tokensPerSecond: 40,
    plasDensity: 0.25,
    finishReason: 'stop',
  });
  assert.throws(() => chats.updateMessage(a.id, { append: 'late' }), storeError('conflict', 'append'));
  assert.throws(() => chats.updateMessage(a.id, { complete: false }), storeError('conflict', 'complete'));
  assert.throws(() => chats.updateMessage('nope', { append: 'x' }), storeError('not_found', 'id'));
  // Metadata may still be added to a complete message (e.g. a rating later).
  assert.equal(chats.updateMessage(a.id, { metadata: { liked: true } }).metadata.liked, true);
  db.close();

  const again = new ChatsRepository(openDatabase(path));
  const thread = again.thread(c.id);
  assert.deepEqual(
    thread.messages.map((m) => [m.role, m.content, m.complete, m.attachments.length]),
    [
      ['user', 'summarise this', true, 1],
      ['assistant', 'Hello, world', true, 0],
    ],
  );
});

it('soft-deletes to the trash, restores, and purges with every message and attachment', () => {
  const { db, chats } = open('trash.db');
  const keep = chats.create({ title: 'keep' });
  const c = chats.create({ title: 'bin me' });
  const u = chats.addMessage(c.id, {
    parentId: null,
    role: 'user',
    content: 'hello',
    attachments: [{ name: 'a.md', mime: 'text/markdown', content: '# a' }],
  });
  chats.addMessage(c.id, { parentId: u.id, role: 'assistant', content: 'hi' });

  assert.equal(chats.softDelete(c.id), true);
  assert.equal(chats.softDelete(c.id), false, 'already in the trash');
  assert.deepEqual(
    chats.list().map((x) => x.id),
    [keep.id],
  );
  assert.equal(chats.get(c.id), undefined);
  assert.equal(chats.getMessage(u.id), undefined, 'its messages are hidden too');
  assert.throws(() => chats.thread(c.id), storeError('not_found', 'id'));
  assert.throws(
    () => chats.addMessage(c.id, { parentId: u.id, role: 'user', content: 'x' }),
    storeError('not_found', 'id'),
  );
  assert.ok(chats.get(c.id, { includeDeleted: true })?.deletedAt);

  const restored = chats.restore(c.id);
  assert.equal(restored.deletedAt, null);
  assert.equal(chats.thread(c.id).messages.length, 2);

  chats.softDelete(c.id);
  assert.equal(chats.purgeDeleted(), 1);
  assert.equal(chats.get(c.id, { includeDeleted: true }), undefined);
  assert.throws(() => chats.restore(c.id), storeError('not_found', 'id'));
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  assert.equal(count('messages'), 0);
  assert.equal(count('attachments'), 0);
  assert.equal(chats.purge(keep.id), true);
  assert.equal(chats.purge(keep.id), false);
  // The search indexes dropped the purged rows too (FTS5 checks them against the tables).
  db.exec("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')");
  db.exec("INSERT INTO conversations_fts(conversations_fts) VALUES ('integrity-check')");
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  db.close();
});
