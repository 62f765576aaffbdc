import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedSha256, runtimeBinary } from '../../../tools/node-runtime.ts';

test("a runtime download is checked against the release's SHASUMS256.txt", () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const shasums = `${a}  node-v26.10.0-darwin-arm64.tar.gz\n${b}  node-v26.10.0-darwin-arm64.tar.xz\n`;
  assert.equal(expectedSha256(shasums, 'node-v26.10.0-darwin-arm64.tar.gz'), a);
  assert.throws(() => expectedSha256(shasums, 'node-v26.10.0-darwin-x64.tar.gz'), /lists no checksum/);
  assert.throws(() => expectedSha256(`nothex  node.tar.gz\n`, 'node.tar.gz'), /lists no checksum/);
  assert.equal(runtimeBinary('/r', 'win32'), '/r/node.exe');
  assert.equal(runtimeBinary('/r', 'darwin'), '/r/bin/node');
});
