/**
 * The desktop app's server supervision with the real server process (`plas serve` through tsx, PLAS Mini on
 * SwiftShader): the ready line, a SIGKILLed server restarted on a new port, a clean stop leaving no process, the
 * crash-loop stop with the log's last lines and a retry, and a server that never says ready.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RotatingLog } from '../../../main/electron/rotating-log.ts';
import { developmentServerCommand } from '../../../main/electron/server-command.ts';
import { ServerSupervisor, type SupervisorEvent } from '../../../main/electron/server-supervisor.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** A supervisor whose events can be awaited in order. */
function supervised(command: ConstructorParameters<typeof ServerSupervisor>[0]['command'], extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'plas-supervise-'));
  const log = new RotatingLog(join(dir, 'logs', 'server.log'));
  const events: SupervisorEvent[] = [];
  const waiters: { type: SupervisorEvent['type']; resolve: (e: SupervisorEvent) => void }[] = [];
  const supervisor = new ServerSupervisor({
    command,
    log,
    backoffMs: 50,
    ...extra,
    onEvent: (e) => {
      events.push(e);
      for (const w of [...waiters]) {
        if (w.type === e.type) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    },
  });
  /** The next event of `type` after those seen so far (or one already seen since `from`). */
  const next = <T extends SupervisorEvent['type']>(type: T, from = events.length, timeoutMs = 90_000) =>
    new Promise<Extract<SupervisorEvent, { type: T }>>((resolve, reject) => {
      const seen = events.slice(from).find((e) => e.type === type);
      if (seen) return resolve(seen as Extract<SupervisorEvent, { type: T }>);
      const timer = setTimeout(
        () => reject(new Error(`no ${type} event in ${timeoutMs} ms: ${JSON.stringify(events)}`)),
        timeoutMs,
      );
      waiters.push({
        type,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as Extract<SupervisorEvent, { type: T }>);
        },
      });
    });
  after(() => supervisor.stop()); // a failed assertion must not leave a server running (it would hang the runner)
  return { dir, log, events, supervisor, next };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('the server is started, restarted after a SIGKILL, and stopped leaving no process', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'plas-supervise-data-'));
  const s = supervised(developmentServerCommand(ROOT, process.execPath, dataDir, process.env));
  const readySeen = s.next('ready');
  s.supervisor.start();
  const first = await readySeen;
  await s.next('model-ready', 0);
  assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(s.supervisor.state, 'running');
  assert.equal((await fetch(`${first.url}/health`)).status, 200);
  const progress = s.events.filter((e) => e.type === 'model-progress');
  assert.ok(progress.length > 0, 'the launch model reports its load');
  const last = progress.at(-1) as Extract<SupervisorEvent, { type: 'model-progress' }>;
  assert.equal(last.loaded, last.total);

  const from = s.events.length;
  process.kill(first.pid, 'SIGKILL');
  const crashed = await s.next('crashed', from);
  assert.equal(crashed.signal, 'SIGKILL');
  const second = await s.next('ready', from);
  await s.next('model-ready', from);
  assert.notEqual(second.pid, first.pid);
  assert.equal(alive(first.pid), false);
  assert.equal((await fetch(`${second.url}/health`)).status, 200);
  assert.notEqual(second.token, '');

  await s.supervisor.stop();
  assert.equal(s.supervisor.state, 'stopped');
  assert.equal(alive(second.pid), false, 'the server process is gone after stop()');
  assert.equal(s.events.at(-1)?.type, 'stopped');
  const tail = s.log.tail(200).join('\n');
  assert.match(tail, /the server exited \(signal SIGKILL\)/);
  assert.match(tail, /SIGTERM: shutting down/, 'stop() asked the server to shut down cleanly');
  assert.match(tail, /the server exited \(code 0\)/);
});

test('three crashes within a minute stop the restarts and report the log; retry starts again', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'plas-supervise-data-'));
  const command = developmentServerCommand(ROOT, process.execPath, dataDir, process.env);
  command.args.push('--model', join(dataDir, 'no-such-model'));
  const s = supervised(command);
  s.supervisor.start();
  const gaveUp = await s.next('gave-up');
  assert.equal(gaveUp.crashes, 3);
  assert.equal(s.supervisor.state, 'gave-up');
  assert.deepEqual(
    s.events.filter((e) => e.type === 'crashed').map((e) => (e as { restartInMs: number }).restartInMs),
    [50, 100],
    'the backoff doubles',
  );
  assert.ok(
    gaveUp.lastLines.some((l) => /^error: .*no-such-model/.test(l)),
    gaveUp.lastLines.join('\n'),
  );
  assert.equal(s.events.filter((e) => e.type === 'starting').length, 3);

  const from = s.events.length;
  s.supervisor.retry();
  assert.equal((await s.next('starting', from)).type, 'starting');
  await s.next('gave-up', from);
  assert.equal(s.events.filter((e) => e.type === 'starting').length, 6);
  await s.supervisor.stop();
  assert.throws(() => s.supervisor.retry(), /retry is for a supervisor that gave up/);
});

test('a server that never prints its ready line is killed and counted as a crash', async () => {
  const s = supervised(
    { command: process.execPath, args: ['-e', 'console.log("starting..."); setInterval(() => {}, 1000)'] },
    { readyTimeoutMs: 300, maxCrashes: 2 },
  );
  s.supervisor.start();
  const crashed = await s.next('crashed');
  assert.equal(crashed.signal, 'SIGKILL');
  await s.next('gave-up');
  assert.match(s.log.tail(50).join('\n'), /printed no ready line within 0.3 s/);
  assert.match(s.log.tail(50).join('\n'), /^starting\.\.\.$/m, 'stdout lines that are not events go to the log');
  await s.supervisor.stop();
});
