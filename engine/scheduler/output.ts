/**
 * The contract between the scheduler and the model runner (vLLM v1's SchedulerOutput / ModelRunnerOutput).
 *
 * One step: `schedule()` returns a SchedulerOutput; the runner computes it in ONE batched forward pass, samples a token
 * for every entry with `sample`, and hands the tokens to `updateFromOutput`. Then the next `schedule()`.
 *
 * For the runner, per entry r of `scheduled`:
 * - r.tokenIds[i] is at position r.start + i (positions are contiguous); its K/V goes to page
 *   r.blockTable[floor(pos / pageSize)], slot pos % pageSize;
 * - its attention covers positions [0, r.start + i] of that same block table (pages before r.start may be shared with
 *   other requests through the prefix cache: read them, never write them);
 * - within each layer, write the K/V of every scheduled token of the step before attention reads the cache: a request
 *   may read pages another request of the same step is writing (prefix-cache hits are registered when scheduled);
 * - when r.sample, the logits of its LAST token give one sampled token; otherwise (a prefill chunk that does not reach
 *   the end of the known tokens) produce nothing for it.
 * Run each output in full even if a request in it is aborted meanwhile; updateFromOutput ignores tokens for requests
 * that are gone.
 */

export interface ScheduledRequest {
  requestId: string;
  /** Token ids to compute this step (length >= 1). */
  tokenIds: readonly number[];
  /** Position of tokenIds[0] = tokens already computed (or found in the prefix cache) before this step. */
  start: number;
  /** The request's pages in sequence order, covering at least start + tokenIds.length tokens. A copy. */
  blockTable: readonly number[];
  /** Pages allocated for this request in this step (fresh: their old contents are garbage). */
  newBlocks: readonly number[];
  /** This step reaches the last known token: sample the next token from its logits. */
  sample: boolean;
  /**
   * Admitted in this step (new, or resumed after preemption): any per-request state the runner keeps must be built
   * afresh from blockTable.
   */
  isNew: boolean;
  /** For entries with isNew: tokens [0, numCachedTokens) were found in the prefix cache, not computed; else 0. */
  numCachedTokens: number;
}

export interface SchedulerOutput {
  /** Step counter, from 0. */
  step: number;
  /** Running requests first (in running order), then the ones admitted this step. */
  scheduled: ScheduledRequest[];
  /** Sum of tokenIds lengths, <= maxNumBatchedTokens. */
  numScheduledTokens: number;
  /** Requests preempted in this step: their pages are gone; drop per-request runner state. */
  preemptedIds: string[];
  /** Requests finished or aborted since the previous schedule(): drop per-request runner state. */
  finishedIds: string[];
}

/** What one step changed for one request: the tokens it generated and, when it ended, why. */
export interface RequestUpdate {
  requestId: string;
  /** Tokens appended to the output this step (a stop token included; the engine decides whether to show it). */
  newTokenIds: number[];
  finishReason: 'stop' | 'length' | null;
  /** The EOS or stop token that ended it, when finishReason is 'stop'. */
  stopTokenId: number | null;
}

export interface SchedulerStats {
  step: number;
  numRunning: number;
  numWaiting: number;
  /** Preemptions since the scheduler was created (a request preempted twice counts twice). */
  numPreemptions: number;
  /** Requests held (not scheduled) until released: their readers are behind. */
  numHeld: number;
}
