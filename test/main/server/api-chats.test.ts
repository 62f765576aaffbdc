/**
 * The chat /api over HTTP on the real server (loopback, real SQLite file): the save flow of a streamed answer,
 * branching and switching, search with hostile input, export/import round trip, trash and restore, presets, model
 * settings, and 400s that name the field.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { bearer, http, startTestServer, type TestServer } from './server-fixture.ts';

let server: TestServer;
const api = (path: string, options: Parameters<typeof http>[2] = {}) =>
  http(server.port, path, { ...options, headers: { ...bearer(server.token), ...options.headers } });
const post = (path: string, body: unknown) => api(path, { method: 'POST', body });
const patch = (path: string, body: unknown) => api(path, { method: 'PATCH', body });

before(async () => {
  server = await startTestServer();
});
after(() => server?.stop());

async function created(path: string, body: unknown) {
  const res = await post(path, body);
  assert.equal(res.status, 201, res.body);
  return res.json();
}

it('needs the management token', async () => {
  const res = await http(server.port, '/api/conversations');
  assert.equal(res.status, 401);
});

it('saves a streamed answer, branches on regenerate and edit, and switches branches', async () => {
  const c = await created('/api/conversations', { title: 'Sums', model: 'tiny', sampling: { temperature: 0.2 } });
  assert.equal(c.title, 'Sums');
  assert.deepEqual(c.sampling, { temperature: 0.2 });
  const u = await created(`/api/conversations/${c.id}/messages`, { parentId: null, role: 'user', content: '2+2?' });
  // The renderer adds an incomplete answer, appends as tokens arrive, then completes it with the numbers.
  const a1 = await created(`/api/conversations/${c.id}/messages`, {
    parentId: u.id,
    role: 'assistant',
    complete: false,
  });
  assert.equal(a1.complete, false);
  for (const piece of ['It ', 'is ', '4.']) {
    const res = await patch(`/api/messages/${a1.id}`, { append: piece });
    assert.equal(res.status, 200, res.body);
  }
  const done = await patch(`/api/messages/${a1.id}`, {
    complete: true,
    metadata: { tokens: 3, ttftMs: 20, tokensPerSecond: 50, plasDensity: 0.3, finishReason: 'stop', model: 'tiny' },
  });
  assert.deepEqual(
    [done.json().content, done.json().complete, done.json().metadata.finishReason],
    ['It is 4.', true, 'stop'],
  );
  const late = await patch(`/api/messages/${a1.id}`, { append: 'more' });
  assert.equal(late.status, 409);
  assert.equal(late.json().error.param, 'append');

  // Regenerate: a sibling answer, which becomes the active leaf.
  const a2 = await created(`/api/conversations/${c.id}/messages`, { parentId: u.id, role: 'assistant', content: '4' });
  assert.deepEqual([a2.siblingIndex, a2.siblingCount, a2.siblingIds], [1, 2, [a1.id, a2.id]]);
  let thread = (await api(`/api/conversations/${c.id}`)).json();
  assert.equal(thread.conversation.activeLeafId, a2.id);
  assert.deepEqual(
    thread.messages.map((m: { id: string }) => m.id),
    [u.id, a2.id],
  );

  // Switch back to the first answer.
  const switched = await patch(`/api/conversations/${c.id}`, { activeLeafId: a1.id, title: 'Sums (renamed)' });
  assert.equal(switched.status, 200, switched.body);
  thread = switched.json();
  assert.equal(thread.conversation.title, 'Sums (renamed)');
  assert.deepEqual(
    thread.messages.map((m: { content: string; siblingIndex: number; siblingCount: number }) => [
      m.content,
      m.siblingIndex,
      m.siblingCount,
    ]),
    [
      ['2+2?', 0, 1],
      ['It is 4.', 0, 2],
    ],
  );
  // Edit the prompt: a second root.
  const e = await created(`/api/conversations/${c.id}/messages`, { parentId: null, role: 'user', content: '3+3?' });
  assert.deepEqual([e.siblingIndex, e.siblingCount], [1, 2]);
  assert.deepEqual(
    (await api(`/api/conversations/${c.id}`)).json().messages.map((m: { id: string }) => m.id),
    [e.id],
  );
  assert.equal((await api(`/api/messages/${a1.id}`)).json().content, 'It is 4.');

  // The list: newest activity first.
  const other = await created('/api/conversations', {});
  const list = (await api('/api/conversations')).json().conversations.map((x: { id: string }) => x.id);
  assert.deepEqual(list.slice(0, 2), [other.id, c.id]);
});

it('refuses bad requests with 400/404 naming the field', async () => {
  const c = await created('/api/conversations', {});
  const cases: [string, string, unknown, number, string | null, RegExp][] = [
    ['POST', '/api/conversations', { title: '' }, 400, 'title', /^title: /],
    ['POST', '/api/conversations', { sampling: { temperature: 9 } }, 400, 'sampling.temperature', /temperature/],
    ['POST', '/api/conversations', { sampling: { temprature: 1 } }, 400, 'sampling.temprature', /not a known field/],
    ['POST', `/api/conversations/${c.id}/messages`, { role: 'user' }, 400, 'parentId', /is required/],
    ['POST', `/api/conversations/${c.id}/messages`, { parentId: null, role: 'robot' }, 400, 'role', /must be one of/],
    ['POST', `/api/conversations/${c.id}/messages`, { parentId: 'ghost', role: 'user' }, 404, 'parentId', /ghost/],
    ['POST', '/api/conversations/nope/messages', { parentId: null, role: 'user' }, 404, 'id', /no conversation/],
    ['PATCH', `/api/conversations/${c.id}`, { activeLeafId: 'ghost' }, 404, 'activeLeafId', /ghost/],
    ['PATCH', `/api/conversations/${c.id}`, { title: 5 }, 400, 'title', /^title: /],
    ['PATCH', '/api/messages/nope', { append: 'x' }, 404, 'id', /no message/],
    ['PATCH', '/api/messages/nope', {}, 400, null, /the request body/],
    ['GET', '/api/conversations/nope', undefined, 404, 'id', /no conversation/],
    ['GET', '/api/search', undefined, 400, 'q', /querystring q: is required/],
    ['GET', `/api/conversations/${c.id}/export?format=pdf`, undefined, 400, 'format', /must be one of/],
    ['DELETE', '/api/conversations/nope', undefined, 404, 'id', /no conversation/],
  ];
  for (const [method, path, body, status, param, message] of cases) {
    const res = await api(path, { method, body });
    assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: ${res.body}`);
    assert.equal(res.json().error.param, param, `${method} ${path}: ${res.body}`);
    assert.match(res.json().error.message, message);
  }
});

it('searches with any input and returns escaped snippets', async () => {
  const c = await created('/api/conversations', { title: 'Cooking' });
  const m = await created(`/api/conversations/${c.id}/messages`, {
    parentId: null,
    role: 'user',
    content: 'Bake the <b>bread</b> NEAR "the" oven*',
  });
  const hostile = ['"', '*', 'NEAR(', 'AND OR NOT', '())', "'; DROP TABLE messages; --", '\\', '%', '\u0001', ''];
  for (const q of hostile) {
    const res = await api(`/api/search?q=${encodeURIComponent(q)}`);
    assert.equal(res.status, 200, `${JSON.stringify(q)}: ${res.body}`);
    assert.ok(Array.isArray(res.json().results));
  }
  const res = await api(`/api/search?q=${encodeURIComponent('bread oven')}`);
  assert.deepEqual(res.json().results, [
    {
      conversationId: c.id,
      title: 'Cooking',
      messageId: m.id,
      snippet: 'Bake the &lt;b&gt;<mark>bread</mark>&lt;/b&gt; NEAR &quot;the&quot; <mark>oven</mark>*',
    },
  ]);
  assert.equal((await api('/api/search?q=cook')).json().results[0].messageId, null, 'a title hit');
});

it('exports JSON and Markdown, and imports the JSON back as a new conversation', async () => {
  const c = await created('/api/conversations', { title: 'Trip / plans', systemPrompt: 'Be brief.' });
  const u = await created(`/api/conversations/${c.id}/messages`, {
    parentId: null,
    role: 'user',
    content: 'Where to?',
    attachments: [{ name: 'map.txt', mime: 'text/plain', content: 'north', tokens: 1 }],
  });
  await created(`/api/conversations/${c.id}/messages`, { parentId: u.id, role: 'assistant', content: 'Oslo' });
  await created(`/api/conversations/${c.id}/messages`, { parentId: u.id, role: 'assistant', content: 'Rome' });

  const md = await api(`/api/conversations/${c.id}/export?format=markdown`);
  assert.equal(md.status, 200);
  assert.match(String(md.headers['content-type']), /^text\/markdown/);
  assert.equal(md.headers['content-disposition'], 'attachment; filename="Trip-plans.md"');
  assert.match(md.body, /^# Trip \/ plans\n/);
  assert.match(md.body, /## User\n\nWhere to\?\n\n- Attachment: map\.txt \(text\/plain\)\n\n## Assistant\n\nRome\n$/);

  const json = await api(`/api/conversations/${c.id}/export?format=json`);
  assert.equal(json.status, 200);
  assert.equal(json.headers['content-disposition'], 'attachment; filename="Trip-plans.json"');
  const file = json.json();
  assert.equal(file.messages.length, 3);

  const imported = await created('/api/conversations/import', file);
  assert.notEqual(imported.conversation.id, c.id);
  assert.equal(imported.conversation.systemPrompt, 'Be brief.');
  assert.deepEqual(
    imported.messages.map((m: { content: string; siblingIndex: number; siblingCount: number }) => [
      m.content,
      m.siblingIndex,
      m.siblingCount,
    ]),
    [
      ['Where to?', 0, 1],
      ['Rome', 1, 2],
    ],
  );
  assert.equal(imported.messages[0].attachments[0].content, 'north');
  // Exporting the copy gives the same tree.
  const again = (await api(`/api/conversations/${imported.conversation.id}/export`)).json();
  const strip = (f: typeof file) =>
    f.messages.map((m: { role: string; content: string; attachments: unknown[] }) => [
      m.role,
      m.content,
      m.attachments,
    ]);
  assert.deepEqual(strip(again), strip(file));

  // A bad file: 400 naming the field, nothing imported.
  const before = (await api('/api/conversations')).json().conversations.length;
  const badParent = structuredClone(file);
  badParent.messages[1].parentId = 'ghost';
  const badRole = structuredClone(file);
  badRole.messages[0].role = 'robot';
  for (const [body, param] of [
    [badParent, 'messages[1].parentId'],
    [badRole, 'messages[0].role'],
    [{ ...file, format: 'x' }, 'format'],
    [{ ...file, messages: 'no' }, 'messages'],
    ['not json at all', null],
  ] as const) {
    const res = await post('/api/conversations/import', body);
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json().error.param, param, res.body);
  }
  assert.equal((await api('/api/conversations')).json().conversations.length, before);
});

it('moves a conversation to the trash, restores it, and purges it', async () => {
  const c = await created('/api/conversations', { title: 'Binned' });
  await created(`/api/conversations/${c.id}/messages`, { parentId: null, role: 'user', content: 'zebra crossing' });
  const ids = async () => (await api('/api/conversations')).json().conversations.map((x: { id: string }) => x.id);

  assert.deepEqual((await api(`/api/conversations/${c.id}`, { method: 'DELETE' })).json(), {
    deleted: c.id,
    purged: false,
  });
  assert.ok(!(await ids()).includes(c.id));
  assert.equal((await api(`/api/conversations/${c.id}`)).status, 404);
  assert.deepEqual((await api('/api/search?q=zebra')).json().results, []);

  const restored = await post(`/api/conversations/${c.id}/restore`, undefined);
  assert.equal(restored.status, 200, restored.body);
  assert.equal(restored.json().deletedAt, null);
  assert.ok((await ids()).includes(c.id));
  assert.equal((await api('/api/search?q=zebra')).json().results.length, 1);

  await api(`/api/conversations/${c.id}`, { method: 'DELETE' });
  assert.equal((await post('/api/conversations/purge', undefined)).json().purged, 1);
  assert.equal((await post(`/api/conversations/${c.id}/restore`, undefined)).status, 404);

  const d = await created('/api/conversations', {});
  assert.deepEqual((await api(`/api/conversations/${d.id}?purge=true`, { method: 'DELETE' })).json(), {
    deleted: d.id,
    purged: true,
  });
  assert.equal((await post(`/api/conversations/${d.id}/restore`, undefined)).status, 404);
});

it('keeps presets (unique names) and per-model settings', async () => {
  const p = await created('/api/presets', { name: 'Coder', systemPrompt: 'Write code.', sampling: { temperature: 0 } });
  const dup = await post('/api/presets', { name: 'coder' });
  assert.equal(dup.status, 409);
  assert.equal(dup.json().error.param, 'name');
  const renamed = await patch(`/api/presets/${p.id}`, { name: 'Code helper' });
  assert.equal(renamed.json().name, 'Code helper');
  assert.deepEqual(renamed.json().sampling, { temperature: 0 });
  assert.deepEqual(
    (await api('/api/presets')).json().presets.map((x: { name: string }) => x.name),
    ['Code helper'],
  );
  assert.equal((await patch('/api/presets/nope', { name: 'x' })).status, 404);
  assert.deepEqual((await api(`/api/presets/${p.id}`, { method: 'DELETE' })).json(), { deleted: p.id });
  assert.equal((await api(`/api/presets/${p.id}`, { method: 'DELETE' })).status, 404);

  assert.deepEqual((await api('/api/model-settings/org/tiny')).json(), {
    model: 'org/tiny',
    settings: {},
    updatedAt: null,
  });
  const settings = { plas: { plas_decoder_top_k_left: 8, range: [4, 64] } };
  const put = await api('/api/model-settings/org%2Ftiny', { method: 'PUT', body: { settings } });
  assert.equal(put.status, 200, put.body);
  assert.deepEqual((await api('/api/model-settings/org/tiny')).json().settings, settings);
  const bad = await api('/api/model-settings/org/tiny', { method: 'PUT', body: { settings: 5 } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json().error.param, 'settings');
});
