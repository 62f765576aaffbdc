import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RotatingLog } from '../../../main/electron/rotating-log.ts';

test('the log rolls over at its size limit, keeps N old files and drops the oldest', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'plas-log-')), 'logs', 'server.log');
  const log = new RotatingLog(path, { maxBytes: 100, keep: 2 });
  for (let i = 0; i < 40; i++) log.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(10)}`); // 20 bytes each
  assert.ok(statSync(path).size <= 100);
  assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`));
  assert.equal(existsSync(`${path}.3`), false);
  // Nothing lost between the live file and the newest rolled one: the last lines are in order.
  const recent = [...readFileSync(`${path}.1`, 'utf8').split('\n'), ...readFileSync(path, 'utf8').split('\n')]
    .filter(Boolean)
    .map((l) => Number(l.slice(5, 8)));
  assert.deepEqual(
    recent,
    recent.map((_, i) => recent[0] + i),
  );
  assert.equal(recent.at(-1), 39);
  assert.deepEqual(
    log.tail(2).map((l) => l.slice(0, 8)),
    ['line 038', 'line 039'],
  );
});

test('a log reopened continues its size count (a restart does not reset the limit)', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'plas-log-')), 'server.log');
  const first = new RotatingLog(path, { maxBytes: 50, keep: 1 });
  first.write('a'.repeat(39)); // 40 bytes with the newline
  const second = new RotatingLog(path, { maxBytes: 50, keep: 1 });
  second.write('b'.repeat(19));
  assert.equal(readFileSync(`${path}.1`, 'utf8'), `${'a'.repeat(39)}\n`);
  assert.equal(readFileSync(path, 'utf8'), `${'b'.repeat(19)}\n`);
  assert.throws(() => new RotatingLog(path, { maxBytes: 0 }), /bad log rotation/);
});
