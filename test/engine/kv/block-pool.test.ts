import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hashBlockTokens } from '../../../engine/kv/block-hash.ts';
import { BlockPool } from '../../../engine/kv/block-pool.ts';

const hashOf = (i: number) => hashBlockTokens(null, [i]);

it('allocate and free return the pool to its initial free count', () => {
  const pool = new BlockPool(8);
  assert.equal(pool.numFree, 8);
  const a = pool.allocate(3);
  const b = pool.allocate(5);
  assert.deepEqual(a, [0, 1, 2]);
  assert.equal(pool.numFree, 0);
  assert.throws(() => pool.allocate(1), /asked for 1 blocks but only 0 are free/);
  pool.free(a);
  pool.free(b);
  assert.equal(pool.numFree, 8);
  for (let i = 0; i < 8; i++) assert.equal(pool.refCount(i), 0);
  assert.throws(() => pool.free([a[0]]), /already free/);
});

it('evicts cached blocks least recently freed first, and a sequence tail before its head', () => {
  const pool = new BlockPool(8);
  const a = pool.allocate(4); // request A: pages 0..3
  const b = pool.allocate(4); // request B: pages 4..7
  for (const blk of [...a, ...b]) pool.cache(blk, hashOf(blk));
  pool.free(a);
  pool.free(b);
  assert.deepEqual(pool.freeOrder(), [3, 2, 1, 0, 7, 6, 5, 4]);
  assert.equal(pool.lookup(hashOf(3)), 3, 'cached blocks stay hashed while free');
  assert.deepEqual(pool.allocate(1), [3]);
  assert.equal(pool.lookup(hashOf(3)), undefined, 'evicted on reuse');
  assert.equal(pool.lookup(hashOf(0)), 0);
  assert.deepEqual(pool.allocate(4), [2, 1, 0, 7]);
  assert.equal(pool.stats().evictions, 5);
  assert.equal(pool.stats().numCached, 3);
});

it('blocks without a hash are reused before any cached block is evicted', () => {
  const pool = new BlockPool(4);
  const t = pool.allocate(3);
  pool.cache(t[0], hashOf(0));
  pool.cache(t[1], hashOf(1)); // t[2] is a partial page: no hash
  pool.free(t);
  assert.deepEqual(pool.freeOrder(), [2, 3, 1, 0]);
  pool.allocate(2);
  assert.equal(pool.lookup(hashOf(0)), 0);
  assert.equal(pool.lookup(hashOf(1)), 1);
});

it('touch takes cached free blocks back and counts references of shared ones', () => {
  const pool = new BlockPool(4);
  const [x, y] = pool.allocate(2);
  pool.cache(x, hashOf(x));
  pool.touch([x]); // a second request shares x
  assert.equal(pool.refCount(x), 2);
  pool.free([x, y]);
  assert.equal(pool.refCount(x), 1);
  assert.equal(pool.numFree, 3);
  pool.free([x]);
  assert.equal(pool.numFree, 4);
  pool.touch([pool.lookup(hashOf(x))!]); // a third request hits it while free
  assert.equal(pool.refCount(x), 1);
  assert.equal(pool.numFree, 3);
  assert.ok(!pool.freeOrder().includes(x));
  assert.throws(() => pool.touch([y]), /free and holds no cached page/);
});

it('one hash is cached in one block; reset forgets every hash', () => {
  const pool = new BlockPool(4);
  const [x, y] = pool.allocate(2);
  assert.equal(pool.cache(x, hashOf(9)), true);
  assert.equal(pool.cache(y, hashOf(9)), false);
  assert.equal(pool.hashOf(y), null);
  assert.equal(pool.lookup(hashOf(9)), x);
  pool.resetPrefixCache();
  assert.equal(pool.lookup(hashOf(9)), undefined);
  assert.equal(pool.hashOf(x), null);
  assert.throws(() => new BlockPool(0), /num_pages \(0\)/);
  assert.throws(() => pool.refCount(4), /block 4 is not in \[0, 4\)/);
});
