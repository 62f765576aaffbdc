/**
 * SchedulerConfig: how much work one step may hold. Chunked prefill is always on: a prompt longer than the step's
 * token budget is computed over several steps, while running requests keep decoding between its chunks.
 */

export interface SchedulerConfig {
  /**
   * Token budget of one step, summed over every scheduled request (a decode costs 1, a prefill chunk its length).
   * In [1, 1048576]; >= maxNumSeqs, so every running request can decode in the same step.
   */
  maxNumBatchedTokens: number;
  /** Most requests running at once (holding KV pages, scheduled each step). In [1, 1024]. */
  maxNumSeqs: number;
  /**
   * When set, a request whose remaining prefill exceeds this many tokens gets at most this many per step, so one
   * long prompt cannot take the whole budget from the prompts queued behind it. In [1, maxNumBatchedTokens].
   */
  longPrefillTokenThreshold?: number;
}

/** Starting points for one desktop GPU: enough tokens per step to keep the GPU busy, few enough for ~100 ms steps. */
export const DEFAULT_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = { maxNumBatchedTokens: 1024, maxNumSeqs: 32 };

function intIn(name: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${name} (${value}) must be an integer in [${lo}, ${hi}]`);
  }
}

/** Fill defaults and check every bound; errors name the field (as users type it) and print the values. */
export function validateSchedulerConfig(partial: Partial<SchedulerConfig> = {}): SchedulerConfig {
  const config: SchedulerConfig = { ...DEFAULT_SCHEDULER_CONFIG, ...partial };
  const { maxNumBatchedTokens, maxNumSeqs, longPrefillTokenThreshold } = config;
  intIn('max_num_batched_tokens', maxNumBatchedTokens, 1, 1 << 20);
  intIn('max_num_seqs', maxNumSeqs, 1, 1024);
  if (maxNumBatchedTokens < maxNumSeqs) {
    throw new RangeError(`max_num_batched_tokens (${maxNumBatchedTokens}) must be >= max_num_seqs (${maxNumSeqs})`);
  }
  if (longPrefillTokenThreshold !== undefined) {
    intIn('long_prefill_token_threshold', longPrefillTokenThreshold, 1, 1 << 20);
    if (longPrefillTokenThreshold > maxNumBatchedTokens) {
      throw new RangeError(
        `long_prefill_token_threshold (${longPrefillTokenThreshold}) must be <= max_num_batched_tokens (${maxNumBatchedTokens})`,
      );
    }
  }
  return config;
}
