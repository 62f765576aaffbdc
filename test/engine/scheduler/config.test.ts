import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DEFAULT_SCHEDULER_CONFIG, validateSchedulerConfig } from '../../../engine/scheduler/config.ts';

it('fills defaults and accepts valid configs', () => {
  assert.deepEqual(validateSchedulerConfig(), DEFAULT_SCHEDULER_CONFIG);
  const c = validateSchedulerConfig({ maxNumBatchedTokens: 512, maxNumSeqs: 8, longPrefillTokenThreshold: 128 });
  assert.equal(c.longPrefillTokenThreshold, 128);
});

it('cross-field errors print the values', () => {
  assert.throws(
    () => validateSchedulerConfig({ maxNumBatchedTokens: 256, maxNumSeqs: 512 }),
    /max_num_batched_tokens \(256\) must be >= max_num_seqs \(512\)/,
  );
  assert.throws(
    () => validateSchedulerConfig({ maxNumBatchedTokens: 256, longPrefillTokenThreshold: 1024 }),
    /long_prefill_token_threshold \(1024\) must be <= max_num_batched_tokens \(256\)/,
  );
  assert.throws(
    () => validateSchedulerConfig({ maxNumSeqs: 0 }),
    /max_num_seqs \(0\) must be an integer in \[1, 1024\]/,
  );
  assert.throws(() => validateSchedulerConfig({ maxNumBatchedTokens: 1.5 }), /max_num_batched_tokens \(1.5\)/);
});
