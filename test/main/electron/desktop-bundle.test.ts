/**
 * The desktop shell as tools/build-desktop.ts bundles it (what `npm start` runs and the installer packs): a sandboxed
 * preload must be one CommonJS file that requires nothing but `electron`; the main process bundle may load no native
 * module and no engine code (the server runs apart); the starting page's files are all there and under a CSP.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildDesktop } from '../../../tools/build-desktop.ts';

test('the shell bundles: a self-contained CommonJS preload, a main process without engine or native code', async () => {
  const out = mkdtempSync(join(tmpdir(), 'plas-desktop-'));
  await buildDesktop(out);
  const preload = readFileSync(join(out, 'preload.cjs'), 'utf8');
  const required = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron'], 'a sandboxed preload can require electron alone');
  assert.doesNotMatch(preload, /^\s*import\s/m, 'no ES module syntax in a sandboxed preload');
  assert.match(preload, /exposeInMainWorld\("plasDesktop"/);
  assert.match(preload, /"plas:pick-model-folder"/, 'the contract is compiled in');

  const main = readFileSync(join(out, 'main.mjs'), 'utf8');
  const imported = [...main.matchAll(/^import [^;]*? from "([^"]+)";$/gms)].map((m) => m[1]);
  assert.ok(imported.includes('electron'));
  for (const m of imported) assert.ok(m === 'electron' || m.startsWith('node:'), `main imports ${m}`);
  for (const forbidden of ['better-sqlite3', 'webgpu', 'dawn.node', 'engine/engine.ts']) {
    assert.equal(main.includes(forbidden), false, `the shell bundles ${forbidden}`);
  }

  const html = readFileSync(join(out, 'starting.html'), 'utf8');
  assert.match(html, /http-equiv="Content-Security-Policy"\s+content="default-src 'none'; script-src 'self'/);
  for (const file of ['starting.js', 'starting.css']) {
    assert.ok(html.includes(file) && existsSync(join(out, file)), file);
  }
});
