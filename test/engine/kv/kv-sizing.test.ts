import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pageLocation, sizeKvCache } from '../../../engine/kv/kv-sizing.ts';

const MiB = 1 << 20;
// Llama-3-8B-like: 32 layers, 8 KV heads of 128, f16: 64-token page = 2 x 32 x 8 x 128 x 2 x 64 = 8 MiB.
const llama8b = { numLayers: 32, numKvHeads: 8, headDim: 128, bytesPerElement: 2 };

it('sizes pages and shards whole pages under the binding limit', () => {
  const s = sizeKvCache({ ...llama8b, budgetBytes: 1000 * MiB, maxBindingBytes: 128 * MiB });
  assert.equal(s.pageSize, 64);
  assert.equal(s.pageBytes, 8 * MiB);
  assert.equal(s.numPages, 125);
  assert.equal(s.numTokens, 8000);
  assert.equal(s.pagesPerShard, 16);
  assert.equal(s.shards.length, 8);
  assert.deepEqual(s.shards[7], { firstPage: 112, numPages: 13, byteLength: 13 * 8 * MiB });
  assert.equal(
    s.shards.reduce((n, x) => n + x.numPages, 0),
    125,
  );
  for (const x of s.shards) assert.ok(x.byteLength <= 128 * MiB);
  assert.deepEqual(pageLocation(s, 17), { shard: 1, byteOffset: 8 * MiB });
  assert.throws(() => pageLocation(s, 125), /page 125 is not in \[0, 125\)/);
});

it('a budget under one binding is one shard; maxPages caps', () => {
  const s = sizeKvCache({ ...llama8b, pageSize: 16, budgetBytes: 100 * MiB, maxBindingBytes: 1024 * MiB });
  assert.equal(s.shards.length, 1);
  assert.equal(s.numPages, 50);
  assert.equal(sizeKvCache({ ...llama8b, budgetBytes: 100 * MiB, maxBindingBytes: 1 << 30, maxPages: 3 }).numPages, 3);
});

it('cross-field errors print the values', () => {
  const base = { ...llama8b, budgetBytes: 1000 * MiB, maxBindingBytes: 128 * MiB };
  assert.throws(
    () => sizeKvCache({ ...base, pageSize: 48, plasBlockSize: 128 }),
    /page_size \(48\) must be a power of two dividing plas_block_size \(128\)/,
  );
  assert.throws(
    () => sizeKvCache({ ...base, pageSize: 256, plasBlockSize: 128 }),
    /page_size \(256\) must be a power of two dividing plas_block_size \(128\)/,
  );
  assert.throws(() => sizeKvCache({ ...base, plasBlockSize: 96 }), /plas_block_size \(96\)/);
  assert.throws(
    () => sizeKvCache({ ...base, maxBindingBytes: 4 * MiB }),
    /one KV page is 8388608 bytes .* lower page_size/,
  );
  assert.throws(() => sizeKvCache({ ...base, budgetBytes: MiB }), /holds no page of 8388608 bytes/);
  assert.throws(() => sizeKvCache({ ...base, bytesPerElement: 3 }), /bytes_per_element \(3\)/);
  assert.throws(() => sizeKvCache({ ...base, numLayers: 0 }), /num_layers \(0\) must be a positive integer/);
  assert.equal(sizeKvCache({ ...base, pageSize: 32, plasBlockSize: 128 }).pageBytes, 4 * MiB);
});
