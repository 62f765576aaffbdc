import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_WINDOW,
  fitToDisplays,
  loadWindowState,
  MIN_SIZE,
  parseWindowState,
  saveWindowState,
} from '../../../main/electron/window-state.ts';

const laptop = { x: 0, y: 0, width: 1440, height: 900 };
const monitor = { x: 1440, y: 0, width: 2560, height: 1440 };

test('a saved size and position come back on the same displays', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plas-window-'));
  const file = join(dir, 'window-state.json');
  const state = { x: 1600, y: 100, width: 1400, height: 1000, maximized: false };
  saveWindowState(file, state);
  assert.deepEqual(loadWindowState(file, [laptop, monitor]), state);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), state);
});

test('a window saved on a display that is gone opens placed by the system, its size fitted', () => {
  const state = { x: 1600, y: 100, width: 2400, height: 1300, maximized: true };
  assert.deepEqual(fitToDisplays(state, [laptop]), { width: 1440, height: 900, maximized: true });
  // Only a sliver of the title bar on screen counts as off-screen too.
  assert.equal(fitToDisplays({ ...state, x: 1430, width: 800 }, [laptop]).x, undefined);
});

test('a missing, malformed or hostile file gives the default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plas-window-'));
  const file = join(dir, 'window-state.json');
  assert.deepEqual(loadWindowState(file, [laptop]), DEFAULT_WINDOW);
  for (const text of [
    '',
    '{',
    'null',
    '[]',
    '{"width":"1e9","height":800,"maximized":false}',
    '{"width":1e9,"height":800,"maximized":false}',
    '{"width":800.5,"height":800,"maximized":false}',
    '{"width":800,"height":800}',
  ]) {
    assert.equal(parseWindowState(text), null, text);
    writeFileSync(file, text);
    assert.deepEqual(loadWindowState(file, [laptop]), DEFAULT_WINDOW, text);
  }
  assert.deepEqual(fitToDisplays({ width: 10, height: 10, maximized: false }, [laptop]), {
    ...MIN_SIZE,
    maximized: false,
  });
});
