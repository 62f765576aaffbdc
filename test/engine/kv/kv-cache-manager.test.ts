import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KVCacheManager } from '../../../engine/kv/kv-cache-manager.ts';
import { Request } from '../../../engine/scheduler/request.ts';

const seq = (n: number, from = 0) => Array.from({ length: n }, (_, i) => (from + i * 31) % 500);

/** Admit a request the way the scheduler does: cached prefix, then slots for the rest of its tokens. */
function admit(kv: KVCacheManager, r: Request): number[] | null {
  const computed = kv.getComputedBlocks(r);
  const fresh = kv.allocateSlots(r, r.numTokens - computed.numTokens, computed);
  if (fresh !== null) r.numComputedTokens = r.numTokens;
  return fresh;
}

it('allocates pages as a sequence grows and frees them all', () => {
  const kv = new KVCacheManager({ numPages: 10, pageSize: 4 });
  const r = new Request({ id: 'a', promptTokenIds: seq(6), maxTokens: 10 });
  assert.deepEqual(admit(kv, r), [0, 1]);
  for (let i = 0; i < 3; i++) {
    r.outputTokenIds.push(7);
    const fresh = kv.allocateSlots(r, 1);
    r.numComputedTokens++;
    assert.deepEqual(fresh, i === 2 ? [2] : []); // position 8 opens page 2
  }
  assert.deepEqual(kv.blockTable('a'), [0, 1, 2]);
  assert.equal(kv.stats().numFreePages, 7);
  kv.free('a');
  assert.equal(kv.pool.numFree, 10);
  assert.deepEqual(kv.blockTable('a'), []);
});

it('returns null and changes nothing when the pool cannot hold the tokens', () => {
  const kv = new KVCacheManager({ numPages: 3, pageSize: 4 });
  const a = new Request({ id: 'a', promptTokenIds: seq(8), maxTokens: 1 });
  const b = new Request({ id: 'b', promptTokenIds: seq(8, 3), maxTokens: 1 });
  assert.ok(admit(kv, a));
  assert.equal(admit(kv, b), null);
  assert.equal(kv.pool.numFree, 1);
  assert.deepEqual(kv.blockTable('b'), []);
});

it('prefix hits share pages with reference counts; never the whole prompt', () => {
  const kv = new KVCacheManager({ numPages: 16, pageSize: 4 });
  const shared = seq(12); // 3 full pages
  const a = new Request({ id: 'a', promptTokenIds: [...shared, 1, 2], maxTokens: 4 });
  admit(kv, a);
  const b = new Request({ id: 'b', promptTokenIds: [...shared, 9], maxTokens: 4 });
  const computed = kv.getComputedBlocks(b);
  assert.deepEqual(computed.blocks, kv.blockTable('a').slice(0, 3));
  assert.equal(computed.numTokens, 12);
  admit(kv, b);
  for (const blk of computed.blocks) assert.equal(kv.pool.refCount(blk), 2);
  assert.equal(kv.blockTable('b').length, 4);
  // Exactly the shared prompt: its last page must be computed, so only 2 pages hit.
  const c = new Request({ id: 'c', promptTokenIds: shared, maxTokens: 4 });
  assert.equal(kv.getComputedBlocks(c).numTokens, 8);
  kv.free('a');
  for (const blk of computed.blocks) assert.equal(kv.pool.refCount(blk), 1);
  kv.free('b');
  assert.equal(kv.pool.numFree, 16);
  const s = kv.stats();
  assert.equal(s.prefixCacheQueries, 14 + 13);
  assert.equal(s.prefixCacheHits, 12);
});

it('pages of a finished request are found again until evicted', () => {
  const kv = new KVCacheManager({ numPages: 4, pageSize: 4 });
  const a = new Request({ id: 'a', promptTokenIds: seq(9), maxTokens: 4 });
  admit(kv, a); // pages 0, 1 full (cached), 2 partial
  kv.free('a');
  const again = new Request({ id: 'a2', promptTokenIds: seq(9), maxTokens: 4 });
  assert.equal(kv.getComputedBlocks(again).numTokens, 8);
  // A different prompt needing all 4 pages evicts them.
  admit(kv, new Request({ id: 'x', promptTokenIds: seq(16, 1), maxTokens: 1 }));
  assert.equal(kv.getComputedBlocks(again).numTokens, 0);
});

it('salts and a disabled cache prevent sharing', () => {
  const kv = new KVCacheManager({ numPages: 16, pageSize: 4 });
  admit(kv, new Request({ id: 'a', promptTokenIds: seq(9), maxTokens: 1, cacheSalt: 'alice' }));
  const bob = new Request({ id: 'b', promptTokenIds: seq(9), maxTokens: 1, cacheSalt: 'bob' });
  assert.equal(kv.getComputedBlocks(bob).numTokens, 0);
  const alice = new Request({ id: 'c', promptTokenIds: seq(9), maxTokens: 1, cacheSalt: 'alice' });
  assert.equal(kv.getComputedBlocks(alice).numTokens, 8);

  const off = new KVCacheManager({ numPages: 16, pageSize: 4, enablePrefixCaching: false });
  admit(off, new Request({ id: 'a', promptTokenIds: seq(9), maxTokens: 1 }));
  assert.equal(off.getComputedBlocks(new Request({ id: 'b', promptTokenIds: seq(9), maxTokens: 1 })).numTokens, 0);
  assert.equal(off.stats().numCachedPages, 0);
});

it('touching a cached free page counts against the free pages', () => {
  const kv = new KVCacheManager({ numPages: 4, pageSize: 4 });
  admit(kv, new Request({ id: 'a', promptTokenIds: seq(8), maxTokens: 1 }));
  kv.free('a'); // pages 0, 1 cached and free; 4 free in all
  const b = new Request({ id: 'b', promptTokenIds: [...seq(8), ...seq(12, 7)], maxTokens: 1 }); // 5 pages
  assert.equal(kv.getComputedBlocks(b).numTokens, 8);
  assert.equal(admit(kv, b), null);
  assert.equal(kv.pool.numFree, 4);
  assert.equal(kv.getComputedBlocks(b).numTokens, 8, 'a failed allocation evicts nothing');
});

it('reports capacity and validates page_size', () => {
  assert.equal(new KVCacheManager({ numPages: 100, pageSize: 64 }).tokensThatFit(), 6400);
  assert.throws(() => new KVCacheManager({ numPages: 4, pageSize: 48 }), /page_size \(48\) must be a power of two/);
});
