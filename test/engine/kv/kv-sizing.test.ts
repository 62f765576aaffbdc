/** KV pool sizing: pages from a budget or a count, sharded one buffer per layer and per K/V, bounded by one binding. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { kvBytesPerToken, sizeKvPool } from '../../../engine/kv/kv-sizing.ts';
import { checkMemoryFits, estimateMemory, MemoryFitError, tokensThatFit } from '../../../engine/kv/memory-estimate.ts';

const MiB = 2 ** 20;
// Llama-3-8B: 32 layers, 8 KV heads of 128; f32 pages of 64 tokens are 256 KiB per layer buffer.
const llama8b = { numLayers: 32, kvHeads: 8, headDim: 128, pageSize: 64, dtype: 'f32' as const };

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
    /one f32 KV page of 64 tokens x 8 kv heads x head_dim 128 is 262144 bytes per layer/,
  );
});

it('f16 (the default) halves every figure: bytes a token, page, buffer, and doubles the pages a binding holds', () => {
  const f16 = sizeKvPool({ ...llama8b, dtype: undefined, maxBindingBytes: 1024 * MiB, numPages: 2048 });
  assert.equal(f16.dtype, 'f16');
  assert.equal(f16.bufferBytes, 256 * MiB);
  assert.equal(f16.totalBytes, 16 * 1024 * MiB);
  assert.equal(f16.maxPages, 8192);
  // The figures of the issue: PLAS Mini (4 layers, 2 KV heads of 64) and a 28-layer model with 8 KV heads of 128.
  const mini = { numLayers: 4, kvHeads: 2, headDim: 64 };
  assert.deepEqual([kvBytesPerToken(mini, 'f16'), kvBytesPerToken(mini, 'f32')], [2048, 4096]);
  const real = { numLayers: 28, kvHeads: 8, headDim: 128 };
  assert.deepEqual([kvBytesPerToken(real, 'f16'), kvBytesPerToken(real, 'f32')], [114688, 229376]);
  assert.equal(kvBytesPerToken(llama8b, 'f16'), 128 * 1024);
});

it('a memory estimate counts weights, KV in whole pages and key sums, and says the longest context that fits', () => {
  const shape = { numLayers: 28, kvHeads: 8, headDim: 128 };
  const input = { shape, weightBytes: 1000 * MiB, dtype: 'f16' as const, tokens: 100, keySums: true };
  const e = estimateMemory(input);
  assert.equal(e.kvBytes, 128 * 114688, '100 tokens take 2 pages of 64');
  assert.equal(e.keySumBytes, 2 * 28 * 8 * 3 * 128 * 4, 'sums (D) and bounds (2 x D) per page, layer and kv head');
  assert.equal(e.totalBytes, 1000 * MiB + e.kvBytes + e.keySumBytes);
  assert.equal(e.largestKvBufferBytes, 128 * 8 * 128 * 2);

  // 2 GiB budget: (2048 - 1000) MiB left, at 64 x 114688 + 28 x 8 x 3 x 128 x 4 bytes a page.
  const limits = { maxBindingBytes: 1024 * MiB, budgetBytes: 2048 * MiB };
  const pages = Math.floor((1048 * MiB) / (64 * 114688 + 28 * 8 * 3 * 128 * 4));
  assert.equal(tokensThatFit(input, limits), pages * 64);
  assert.ok(checkMemoryFits({ ...input, tokens: pages * 64 }, limits));
  assert.throws(
    () => checkMemoryFits({ ...input, tokens: 32768 }, limits),
    (err: Error) =>
      err instanceof MemoryFitError &&
      err.tokensThatFit === pages * 64 &&
      new RegExp(
        `^weights \\(1000\\.0 MiB\\) \\+ 32768 tokens of f16 KV cache \\(114688 bytes a token\\): .* over the 2048\\.0 MiB memory budget: at most ${pages * 64} tokens fit$`,
      ).test(err.message),
  );
  // f32: the same budget holds about half, and the message says f16 would hold about twice as many.
  assert.throws(
    () => checkMemoryFits({ ...input, dtype: 'f32', tokens: 32768 }, limits),
    /about twice as many with an f16/,
  );
  // The binding limit: one layer's K for 300K tokens in f32 is 1172 MiB (4 KiB a token), over a 512 MiB binding.
  assert.throws(
    () => checkMemoryFits({ ...input, dtype: 'f32', tokens: 300000 }, { maxBindingBytes: 512 * MiB }),
    /per layer for K \(and as much for V\), over this adapter's 512\.0 MiB binding limit: at most 131072 tokens fit \(twice as many with an f16 KV cache\)/,
  );
  // Weights over the budget: nothing fits.
  assert.throws(
    () => checkMemoryFits(input, { maxBindingBytes: 1024 * MiB, budgetBytes: 900 * MiB }),
    /the weights alone leave no room for one page of KV cache/,
  );
});
