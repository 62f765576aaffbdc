/**
 * Export and import on a real SQLite file: the JSON round trip keeps the whole tree (branches, metadata, attachments,
 * the active branch) under new ids; Markdown shows the active thread; a bad file is refused naming the field, with
 * nothing written.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ChatTransfer, type ConversationExport } from '../../../main/store/chat-transfer.ts';
import { ChatStoreError } from '../../../main/store/chat-types.ts';
import { ChatsRepository } from '../../../main/store/chats-repo.ts';
import { type Db, openDatabase } from '../../../main/store/database.ts';

let dir: string;
let db: Db;
let chats: ChatsRepository;
let transfer: ChatTransfer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-transfer-'));
  db = openDatabase(join(dir, 'transfer.db'));
  chats = new ChatsRepository(db);
  transfer = new ChatTransfer(db, chats);
});
after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

function branchy() {
  const c = chats.create({ title: 'Maths\nhomework', model: 'tiny', systemPrompt: 'Be exact.', sampling: { seed: 7 } });
  const u = chats.addMessage(c.id, {
    parentId: null,
    role: 'user',
    content: 'What is 2+2?',
    attachments: [{ name: 'sheet.csv', mime: 'text/csv', content: 'a,b\n2,2', tokens: 5 }],
  });
  const a1 = chats.addMessage(c.id, { parentId: u.id, role: 'assistant', content: '4', metadata: { tokens: 1 } });
  const a2 = chats.addMessage(c.id, {
    parentId: u.id,
    role: 'assistant',
    content: 'It is **4**.',
    reasoning: 'two plus two',
    metadata: { tokens: 5, finishReason: 'stop', plasDensity: 0.5 },
  });
  chats.setActiveLeaf(c.id, a1.id);
  return { c, u, a1, a2 };
}

it('round-trips the whole tree through JSON with new ids', () => {
  const { c, a1 } = branchy();
  const file = JSON.parse(JSON.stringify(transfer.exportJson(c.id))) as ConversationExport;
  assert.equal(file.format, 'plas-studio.conversation');
  assert.equal(file.messages.length, 3);
  assert.equal(file.conversation.activeLeafId, a1.id);

  const imported = transfer.importJson(file);
  assert.notEqual(imported.id, c.id);
  assert.equal(imported.title, c.title);
  assert.deepEqual(imported.sampling, { seed: 7 });
  const before = chats.allMessages(c.id);
  const after = chats.allMessages(imported.id);
  const shape = (ms: typeof before) => {
    const index = new Map(ms.map((m, i) => [m.id, i]));
    return ms.map((m) => ({
      parent: m.parentId === null ? null : index.get(m.parentId),
      role: m.role,
      content: m.content,
      reasoning: m.reasoning,
      metadata: m.metadata,
      createdAt: m.createdAt,
      attachments: m.attachments.map((a) => [a.name, a.mime, a.content, a.tokens]),
    }));
  };
  assert.deepEqual(shape(after), shape(before));
  assert.ok(
    after.every((m) => !before.some((b) => b.id === m.id)),
    'every id is new',
  );
  // The same branch is shown: the first answer, whose switcher says 1/2.
  const thread = chats.thread(imported.id).messages;
  assert.deepEqual(
    thread.map((m) => [m.content, m.siblingIndex, m.siblingCount]),
    [
      ['What is 2+2?', 0, 1],
      ['4', 0, 2],
    ],
  );
  // Importing the same file again makes a third, separate copy.
  assert.notEqual(transfer.importJson(file).id, imported.id);
});

it('exports the active thread as Markdown', () => {
  const { c, a2 } = branchy();
  chats.setActiveLeaf(c.id, a2.id);
  assert.equal(
    transfer.exportMarkdown(c.id),
    [
      '# Maths homework',
      '',
      '- Model: tiny',
      `- Created: ${new Date(c.createdAt).toISOString()}`,
      '',
      '## System',
      '',
      'Be exact.',
      '',
      '## User',
      '',
      'What is 2+2?',
      '',
      '- Attachment: sheet.csv (text/csv)',
      '',
      '## Assistant',
      '',
      '<details><summary>Reasoning</summary>',
      '',
      'two plus two',
      '',
      '</details>',
      '',
      'It is **4**.',
      '',
    ].join('\n'),
  );
});

it('refuses a bad file naming the field, and writes nothing', () => {
  const { c } = branchy();
  const good = transfer.exportJson(c.id);
  const count = () => (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  const conversations = chats.list().length;
  const messages = count();
  const bad: [(f: ConversationExport) => void, string, RegExp][] = [
    [(f) => ((f as { format: string }).format = 'other'), 'format', /must be "plas-studio.conversation"/],
    [(f) => ((f as { version: number }).version = 9), 'version', /9 is not supported/],
    [(f) => (f.messages[2].id = f.messages[1].id), 'messages[2].id', /appears twice/],
    [(f) => (f.messages[1].parentId = 'ghost'), 'messages[1].parentId', /not a message listed before it/],
    // A child listed before its parent (or a cycle) is refused the same way.
    [(f) => f.messages.reverse(), 'messages[0].parentId', /not a message listed before it/],
    [(f) => ((f.messages[2] as { role: string }).role = 'robot'), 'messages[2].role', /not a role/],
    [(f) => (f.conversation.activeLeafId = 'ghost'), 'conversation.activeLeafId', /not one of the messages/],
  ];
  for (const [spoil, field, message] of bad) {
    const file = structuredClone(good);
    spoil(file);
    assert.throws(
      () => transfer.importJson(file),
      (e: unknown) =>
        e instanceof ChatStoreError && e.kind === 'invalid' && e.field === field && message.test(e.message),
      field,
    );
  }
  // A failure half-way through the writes (the last message's time, which the STRICT table refuses) rolls it all back.
  const late = structuredClone(good);
  (late.messages[2] as { createdAt: unknown }).createdAt = 'not a number';
  assert.throws(() => transfer.importJson(late));
  assert.equal(chats.list().length, conversations);
  assert.equal(count(), messages);
});
