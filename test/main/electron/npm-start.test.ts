/**
 * `npm start` where no window can open (these machines: no display, no Electron binary): it says why, starts the
 * same server and prints the address to open; and the checks that decide it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { electronBinary, windowUnavailable } from '../../../main/cli/electron-launch.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

test('without a display, npm start serves the app for a browser and says why', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'plas-start-'));
  const { DISPLAY: _d, WAYLAND_DISPLAY: _w, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'main', 'cli', 'start.ts'), '--port', '0', '--data-dir', dataDir],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line));
      });
      child.on('exit', (code) => reject(new Error(`npm start exited (${code}) before ready:\n${stderr}`)));
    });
    assert.match(stderr, /No desktop window: there is no display here \(neither DISPLAY nor WAYLAND_DISPLAY is set\)/);
    assert.match(stderr, /open the address below in a browser/);
    assert.ok(stderr.includes(`PLAS Studio is ready at ${ready.url}/?token=${ready.token}`), stderr);
    const page = await fetch(`${ready.url}/?token=${ready.token}`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'SIGTERM ends it cleanly');
});

test('the window is tried only with a display, the package and its binary', () => {
  const pkg = mkdtempSync(join(tmpdir(), 'plas-electron-pkg-'));
  const linux = (env: Record<string, string | undefined>) =>
    windowUnavailable({ packageDir: pkg, platform: 'linux', env });
  assert.match(linux({}) ?? '', /no display/);
  assert.equal(linux({ DISPLAY: ':0' }), null);
  assert.equal(linux({ WAYLAND_DISPLAY: 'wayland-0' }), null);
  assert.match(linux({ DISPLAY: ':0', PLAS_HEADLESS: '1' }) ?? '', /PLAS_HEADLESS=1/);
  assert.equal(windowUnavailable({ packageDir: pkg, platform: 'darwin', env: {} }), null, 'macOS always has a display');
  assert.match(windowUnavailable({ packageDir: null, platform: 'win32', env: {} }) ?? '', /Electron is not installed/);

  // Electron 45 writes path.txt at install and the binary on first launch: both must be there.
  assert.equal(electronBinary(pkg), null);
  writeFileSync(join(pkg, 'path.txt'), 'electron');
  assert.equal(electronBinary(pkg), null);
  mkdirSync(join(pkg, 'dist'));
  writeFileSync(join(pkg, 'dist', 'electron'), '');
  assert.equal(electronBinary(pkg), join(pkg, 'dist', 'electron'));
});
