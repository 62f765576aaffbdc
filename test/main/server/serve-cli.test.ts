/** The real `plas serve` process on loopback: it answers health checks and refuses foreign Host headers. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, it } from 'node:test';

const root = join(import.meta.dirname, '..', '..', '..');
let child: ChildProcess | null = null;
after(() => child?.kill('SIGTERM'));

function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('plas serve listens on 127.0.0.1, reports the adapter and rejects foreign Host headers', async () => {
  child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'main/cli/plas.ts'), 'serve', '--software', '--port', '0'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (c) => {
      out += c;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child!.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  const ok = await get(port, '/api/health', `127.0.0.1:${port}`);
  assert.equal(ok.status, 200);
  const health = JSON.parse(ok.body);
  assert.equal(health.status, 'ok');
  assert.equal(health.adapter.architecture, 'swiftshader');
  const evil = await get(port, '/api/health', 'evil.example');
  assert.equal(evil.status, 403);
  assert.match(evil.body, /Host evil.example is not allowed/);
});
