/**
 * The desktop app's hand-over of the master key: the supervisor writes it to the server's stdin at each start (not
 * on the command line, not in the environment), and `plas serve --master-key-stdin` reads it from there. The child
 * here is a real Node process that answers with a digest of what its stdin said, its arguments and its environment.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { RotatingLog } from '../../../../main/electron/rotating-log.ts';
import { ServerSupervisor, type SupervisorEvent } from '../../../../main/electron/server-supervisor.ts';

const dir = mkdtempSync(join(tmpdir(), 'plas-handoff-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Prints the ready line with token = sha256(first stdin line), and logs whether the key is in argv or env.
const CHILD = `
const { createHash } = require('node:crypto');
let input = '';
process.stdin.on('data', (c) => {
  input += c;
  if (!input.includes('\\n')) return;
  const line = input.split('\\n')[0];
  const token = createHash('sha256').update(line).digest('hex');
  console.error('argv-has-key=' + process.argv.join(' ').includes(line) + ' env-has-key=' + JSON.stringify(process.env).includes(line));
  console.log(JSON.stringify({ event: 'ready', url: 'http://127.0.0.1:1', port: 1, token }));
});
setInterval(() => {}, 1000);
`;

it('writes the secret to the child stdin at each start, never in its arguments or environment', async () => {
  const secret = randomBytes(32).toString('base64');
  const log = new RotatingLog(join(dir, 'server.log'));
  const ready: Extract<SupervisorEvent, { type: 'ready' }>[] = [];
  let asked = 0;
  const supervisor = new ServerSupervisor({
    command: { command: process.execPath, args: ['-e', CHILD], env: { PATH: process.env.PATH } },
    log,
    backoffMs: 20,
    secretInput: () => {
      asked++;
      return secret;
    },
    onEvent: (e) => {
      if (e.type === 'ready') ready.push(e);
    },
  });
  after(() => supervisor.stop());
  supervisor.start();
  const until = async (n: number) => {
    for (let i = 0; i < 200 && ready.length < n; i++) await new Promise((r) => setTimeout(r, 25));
  };
  await until(1);
  const digest = createHash('sha256').update(secret).digest('hex');
  assert.equal(ready[0]?.token, digest, 'the child read the secret on its stdin');
  process.kill(ready[0].pid, 'SIGKILL'); // a crash: the restarted server gets it again
  await until(2);
  assert.equal(ready[1]?.token, digest);
  assert.equal(asked, 2);
  await supervisor.stop();
  const lines = log.tail(50).join('\n');
  assert.match(lines, /argv-has-key=false env-has-key=false/);
  assert.ok(!lines.includes(secret), 'the secret is not in the log');
});
