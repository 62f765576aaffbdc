/**
 * A process writing chats is killed with SIGKILL in the middle of a stream of writes: the database file must open,
 * pass SQLite's integrity check (and the search indexes theirs), and hold every write the process reported committed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, it } from 'node:test';
import { ChatsRepository } from '../../../main/store/chats-repo.ts';
import { openDatabase } from '../../../main/store/database.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-crash-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Committed writes the child reported before it died. */
interface Reported {
  messages: Set<string>;
  /** The longest content length reported per message. */
  lengths: Map<string, number>;
  completed: Set<string>;
  lines: number;
}

function runAndKill(path: string, killAfterLines: number): Promise<{ reported: Reported; signal: string | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-writer.ts'), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const reported: Reported = { messages: new Set(), lengths: new Map(), completed: new Set(), lines: 0 };
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    const [kind, id, length] = line.split(' ');
    if (kind === 'ready') return;
    reported.lines++;
    if (kind === 'message') reported.messages.add(id);
    else if (kind === 'append') reported.lengths.set(id, Number(length));
    else if (kind === 'complete') reported.completed.add(id);
    // Killed at an arbitrary line, so most likely mid-stream (20 of every 23 writes are appends).
    if (reported.lines === killAfterLines) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'close' comes after stdout ends, so every line the child wrote has been read.
    child.on('close', (_code, signal) => resolve({ reported, signal }));
  });
}

it('a SIGKILL mid-stream leaves an intact database with every reported write in it', async () => {
  for (const [run, killAfter] of [
    [1, 1500],
    [2, 2777],
  ] as const) {
    const path = join(dir, `crash-${run}.db`);
    const { reported, signal } = await runAndKill(path, killAfter);
    assert.equal(signal, 'SIGKILL');
    assert.ok(reported.lines >= killAfter, `the child reported ${reported.lines} writes`);

    const db = openDatabase(path);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    // Throws when an index disagrees with its table.
    db.exec("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')");
    db.exec("INSERT INTO conversations_fts(conversations_fts) VALUES ('integrity-check')");
    const chats = new ChatsRepository(db);
    for (const id of reported.messages) assert.ok(chats.getMessage(id), `message ${id} was reported committed`);
    for (const [id, length] of reported.lengths) {
      const m = chats.getMessage(id);
      // Later appends may have committed after the last line was read; never fewer than reported.
      assert.ok(m && m.content.length >= length, `message ${id}: ${m?.content.length} chars, ${length} reported`);
      assert.match(m.content, /^(token\d+ )+$/);
    }
    for (const id of reported.completed) assert.equal(chats.getMessage(id)?.complete, true);
    // The stream that was cut is there as an incomplete message, ready to be marked or resumed.
    const incomplete = db.prepare('SELECT count(*) FROM messages WHERE complete = 0').pluck().get() as number;
    assert.ok(incomplete <= 1, `${incomplete} incomplete messages`);
    db.close();
  }
});
