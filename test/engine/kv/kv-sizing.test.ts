/** KV pool sizing: pages from a budget or a count, sharded one buffer per layer and per K/V, bounded by one binding. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sizeKvPool } from '../../../engine/kv/kv-sizing.ts';

const MiB = 2 ** 20;
// Llama-3-8B: 32 layers, 8 KV heads of 128; f32 pages of 64 tokens are 256 KiB per layer buffer.
const llama8b = { numLayers: 32, kvHeads: 8, headDim: 128, pageSize: 64 };

it('a 128K-token pool of an 8B model: 64 buffers of 512 MiB, each within a 1 GiB binding', () => {
  const s = sizeKvPool({ ...llama8b, maxBindingBytes: 1024 * MiB, numPages: 2048 });
  assert.equal(s.tokens, 131072);
  assert.equal(s.buffers, 64);
  assert.equal(s.bufferBytes, 512 * MiB);
  assert.equal(s.totalBytes, 32 * 1024 * MiB);
  assert.equal(s.pageBytes, 64 * 256 * 1024);
  assert.equal(s.maxPages, 4096);
});

it('a budget buys whole pages, capped by one binding and by the pages that can be of use', () => {
  const budget = sizeKvPool({ ...llama8b, maxBindingBytes: 1024 * MiB, budgetBytes: 1000 * MiB });
  assert.equal(budget.numPages, 62); // 1000 MiB / 16 MiB per page over all 64 buffers
  const capped = sizeKvPool({ ...llama8b, maxBindingBytes: 128 * MiB, budgetBytes: 64 * 1024 * MiB });
  assert.equal(capped.numPages, 512, 'a 128 MiB binding holds 512 pages of 256 KiB');
  assert.equal(capped.bufferBytes, 128 * MiB);
  const useful = sizeKvPool({ ...llama8b, maxBindingBytes: 1024 * MiB, budgetBytes: 1000 * MiB, maxUsefulPages: 3 });
  assert.equal(useful.numPages, 3);
  // Default budget: a quarter of a binding per buffer, at most 1 GiB in all.
  assert.equal(sizeKvPool({ ...llama8b, maxBindingBytes: 1024 * MiB }).totalBytes, 1024 * MiB);
});

it('errors name the limit and the numbers', () => {
  assert.throws(
    () => sizeKvPool({ ...llama8b, maxBindingBytes: 128 * MiB, numPages: 600 }),
    /num_pages \(600\) needs 157286400 bytes per layer buffer, over this adapter's 134217728-byte binding limit \(512 pages\)/,
  );
  assert.throws(
    () => sizeKvPool({ ...llama8b, maxBindingBytes: 1024 * MiB, budgetBytes: MiB }),
    /kv_cache_memory \(1048576 bytes\) holds no page of 16777216 bytes/,
  );
  assert.throws(
    () => sizeKvPool({ ...llama8b, maxBindingBytes: 64 * 1024 }),
    /one KV page of 64 tokens x 8 kv heads x head_dim 128 is 262144 bytes per layer/,
  );
});
