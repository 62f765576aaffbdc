/**
 * electron-builder.yml against electron-builder's own JSON schema (app-builder-lib/scheme.json), and the choices the
 * packaged app depends on: the server and the Node runtime outside the asar, targets for the three systems.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { load } from 'js-yaml';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));
interface BuilderConfig {
  linux: { target: string[] };
  mac: { target: string };
  win: { target: string };
  extraResources: { from: string; to: string }[];
  extraMetadata: { main: string };
  files: string[];
}
const config = load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;

function validate(value: unknown) {
  // The schema uses draft-07 with some non-standard keywords of its generator (e.g. "tsType"): allow unknown ones.
  const ajv = new Ajv({ allErrors: true, strict: false });
  const check = ajv.compile(schema);
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

test("electron-builder.yml is valid under electron-builder's JSON schema", () => {
  assert.deepEqual(validate(config), []);
});

test('the schema check is real: a misspelt or mistyped key is refused', () => {
  assert.notDeepEqual(validate({ ...config, extraResource: [] }), []);
  assert.notDeepEqual(validate({ ...config, asar: 'yes' }), []);
  assert.notDeepEqual(validate({ ...config, linux: { target: 42 } }), []);
});

test('installers for Linux (AppImage, deb), macOS (dmg) and Windows (nsis); the server ships outside the asar', () => {
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.equal(config.mac.target, 'dmg');
  assert.equal(config.win.target, 'nsis');
  assert.deepEqual(
    config.extraResources.map((r) => [r.from, r.to]),
    [
      ['build/server', 'server'],
      // electron-builder's own macros, not a template string
      // biome-ignore lint/suspicious/noTemplateCurlyInString: electron-builder expands ${os} and ${arch}
      ['build/node/${os}-${arch}', 'node'],
    ],
  );
  assert.equal(config.extraMetadata.main, 'build/electron/main.mjs');
  assert.ok(config.files.includes('!node_modules/**'), 'the shell bundle carries no node_modules');
});
