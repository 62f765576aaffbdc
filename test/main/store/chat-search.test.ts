/**
 * Search over messages and titles on a real SQLite file: hits by word and prefix, the trash left out, snippets as safe
 * HTML, and hostile input (FTS5 syntax, quotes, markup, control characters) that never makes a query fail.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ChatSearch, ftsQuery, newMarkers, snippetHtml } from '../../../main/store/chat-search.ts';
import { ChatsRepository } from '../../../main/store/chats-repo.ts';
import { type Db, openDatabase } from '../../../main/store/database.ts';

let dir: string;
let db: Db;
let chats: ChatsRepository;
let search: ChatSearch;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-search-'));
  db = openDatabase(join(dir, 'search.db'));
  chats = new ChatsRepository(db);
  search = new ChatSearch(db);
});
after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

it('finds messages by word and by prefix, and conversations by title', () => {
  const c = chats.create({ title: 'Gardening notes' });
  const u = chats.addMessage(c.id, { parentId: null, role: 'user', content: 'How do I prune tomato plants?' });
  const a = chats.addMessage(c.id, { parentId: u.id, role: 'assistant', content: 'Pinch the suckers off tomatoes.' });
  const other = chats.create({ title: 'Rust lifetimes' });
  chats.addMessage(other.id, { parentId: null, role: 'user', content: 'borrow checker questions' });

  const tomato = search.search('tomato');
  assert.deepEqual(tomato.map((h) => h.messageId).sort(), [u.id, a.id].sort(), 'prefix: "tomato" finds tomatoes');
  assert.ok(tomato.every((h) => h.conversationId === c.id && h.title === 'Gardening notes'));
  assert.match(tomato.find((h) => h.messageId === u.id)?.snippet ?? '', /prune <mark>tomato<\/mark> plants/);

  const title = search.search('gardening');
  assert.deepEqual(title, [
    { conversationId: c.id, title: 'Gardening notes', messageId: null, snippet: '<mark>Gardening</mark> notes' },
  ]);
  // Every word must match (AND), in any order.
  assert.deepEqual(
    search.search('suckers pinch').map((h) => h.messageId),
    [a.id],
  );
  assert.deepEqual(search.search('tomato borrow'), []);
  // Streamed text is searchable as soon as it is appended.
  const s = chats.addMessage(other.id, { parentId: null, role: 'assistant', complete: false });
  chats.updateMessage(s.id, { append: 'the quick brown ' });
  chats.updateMessage(s.id, { append: 'fox' });
  assert.deepEqual(
    search.search('brown fox').map((h) => h.messageId),
    [s.id],
  );
  // The trash is not searched.
  chats.softDelete(c.id);
  assert.deepEqual(search.search('tomato'), []);
  chats.restore(c.id);
  assert.equal(search.search('tomato').length, 2);
});

it('escapes the snippet text so only <mark> tags are HTML', () => {
  const c = chats.create({ title: 'html' });
  chats.addMessage(c.id, {
    parentId: null,
    role: 'user',
    content: 'Is <script>alert("xss")</script> & <b>bold</b> safe? \uE000 stray \uE001 markers',
  });
  const [hit] = search.search('xss');
  assert.ok(hit, 'found');
  assert.equal(
    hit.snippet,
    'Is &lt;script&gt;alert(&quot;<mark>xss</mark>&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; safe? \uE000 stray \uE001 markers',
  );
  // Marker look-alikes in the text stay text: each search makes its own markers.
  const markers = newMarkers();
  assert.notDeepEqual(markers, newMarkers());
  assert.equal(
    snippetHtml(`<i>${markers.open}hit${markers.close} \u0001<x>\u0001`, markers),
    '&lt;i&gt;<mark>hit</mark> \u0001&lt;x&gt;\u0001',
  );
});

it('takes any input: FTS5 syntax is searched as text and never fails the query', () => {
  const c = chats.create({ title: 'syntax' });
  const m = chats.addMessage(c.id, { parentId: null, role: 'user', content: 'NEAR the AND gate, a "quoted" star*' });
  const hostile = [
    '"',
    '""',
    '"unterminated',
    '*',
    '***',
    'NEAR',
    'NEAR(',
    'NEAR(a b, 3)',
    'AND',
    'OR',
    'NOT',
    'a AND',
    'OR OR OR',
    '(',
    ')',
    '())((',
    '-',
    '-gate',
    '^gate',
    'content:gate',
    'title:x',
    '{content}: gate',
    '+',
    ':',
    "'; DROP TABLE messages; --",
    '\u0000',
    '\uE000',
    '   ',
    '',
    'gate"',
    'star*',
    'x'.repeat(10_000),
    'ünïcödé 日本語 🙂',
    'a '.repeat(500),
  ];
  for (const q of hostile) {
    assert.doesNotThrow(() => search.search(q), `query ${JSON.stringify(q.slice(0, 40))}`);
  }
  // The words themselves are found: NEAR, AND and quotes are text here.
  assert.deepEqual(
    search.search('NEAR').map((h) => h.messageId),
    [m.id],
  );
  assert.deepEqual(
    search.search('AND gate').map((h) => h.messageId),
    [m.id],
  );
  assert.deepEqual(
    search.search('"quoted"').map((h) => h.messageId),
    [m.id],
  );
  assert.deepEqual(
    search.search('star*').map((h) => h.messageId),
    [m.id],
  );
  assert.equal(ftsQuery('a "b" NEAR*'), '"a" """b""" "NEAR*"*');
  assert.equal(ftsQuery('  * -- ()  '), null);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
});
