import assert from 'node:assert/strict';
import { it } from 'node:test';
import { extendBlockHashes, hashBlockTokens } from '../../../engine/kv/block-hash.ts';

it('hashes are 128-bit hex, deterministic, and depend on parent, tokens, their order and the extra keys', () => {
  const h = hashBlockTokens(null, [1, 2, 3, 4]);
  assert.match(h, /^[0-9a-f]{32}$/);
  assert.equal(hashBlockTokens(null, [1, 2, 3, 4]), h);
  const variants = [
    hashBlockTokens(h, [1, 2, 3, 4]),
    hashBlockTokens(null, [1, 2, 4, 3]),
    hashBlockTokens(null, [1, 2, 3, 5]),
    hashBlockTokens(null, [1, 2, 3, 4], 'model-b'),
    hashBlockTokens(null, [1, 2, 3]),
    hashBlockTokens(null, [1, 2, 3, 4, 0]),
  ];
  assert.equal(new Set([h, ...variants]).size, variants.length + 1);
});

it('extendBlockHashes chains full pages only, incrementally, the same as hashing at once', () => {
  const tokens = Array.from({ length: 37 }, (_, i) => (i * 7919) % 1000);
  const at = (i: number) => tokens[i];
  const once: string[] = [];
  extendBlockHashes(once, tokens.length, at, 8, 'salt');
  assert.equal(once.length, 4); // 37 tokens = 4 full pages of 8 + 5
  assert.equal(once[0], hashBlockTokens(null, tokens.slice(0, 8), 'salt'));
  assert.equal(once[2], hashBlockTokens(once[1], tokens.slice(16, 24), 'salt'));
  const step: string[] = [];
  for (const n of [3, 8, 9, 20, 37]) extendBlockHashes(step, n, at, 8, 'salt');
  assert.deepEqual(step, once);
});

it('a page hash names its whole prefix: equal pages after different prefixes differ', () => {
  const a: string[] = [];
  const b: string[] = [];
  const ta = [1, 1, 1, 1, 5, 6, 7, 8];
  const tb = [2, 2, 2, 2, 5, 6, 7, 8];
  extendBlockHashes(a, 8, (i) => ta[i], 4);
  extendBlockHashes(b, 8, (i) => tb[i], 4);
  assert.notEqual(a[1], b[1]);
});

it('rejects token ids that are not 32-bit unsigned integers', () => {
  assert.throws(() => hashBlockTokens(null, [1, -1]), /token id -1 at index 1/);
  assert.throws(() => hashBlockTokens(null, [1.5]), /token id 1.5/);
});
