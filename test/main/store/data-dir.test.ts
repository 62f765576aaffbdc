/** The data dir: the platform's per-user folder (or --data-dir), made and kept private (0700). */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { defaultDataDir, ensureDataDir } from '../../../main/store/data-dir.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-datadir-'));
});
after(() => rm(dir, { recursive: true, force: true }));

it('follows each platform’s convention', () => {
  const home = '/home/ada';
  assert.equal(defaultDataDir({ platform: 'linux', env: {}, home }), '/home/ada/.local/share/plas-studio');
  assert.equal(
    defaultDataDir({ platform: 'linux', env: { XDG_DATA_HOME: '/data/xdg' }, home }),
    '/data/xdg/plas-studio',
  );
  // XDG: a relative XDG_DATA_HOME is ignored.
  assert.equal(
    defaultDataDir({ platform: 'linux', env: { XDG_DATA_HOME: 'rel' }, home }),
    '/home/ada/.local/share/plas-studio',
  );
  assert.equal(
    defaultDataDir({ platform: 'darwin', env: {}, home: '/Users/ada' }),
    '/Users/ada/Library/Application Support/PLAS Studio',
  );
  assert.equal(
    defaultDataDir({ platform: 'win32', env: { APPDATA: '/appdata' }, home }),
    join('/appdata', 'PLAS Studio'),
  );
});

it('creates the folder 0700, and tightens one that is wider', async () => {
  const made = ensureDataDir(join(dir, 'a', 'b'));
  assert.equal((await stat(made)).mode & 0o777, 0o700);
  const wide = join(dir, 'wide');
  ensureDataDir(wide);
  await chmod(wide, 0o755);
  ensureDataDir(wide);
  assert.equal((await stat(wide)).mode & 0o777, 0o700);
});
