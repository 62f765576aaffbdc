/** Errors a caller of the scheduler branches on. */

/**
 * The request could never run: even alone, its prompt plus max_tokens needs more KV pages than the pool has. Thrown
 * by addRequest, so the server can answer "exceeds context size" instead of queueing a request that would wait
 * forever (or evict everyone else, forever).
 */
export class RequestTooLargeError extends Error {
  override name = 'RequestTooLargeError';
  constructor(
    readonly requestId: string,
    readonly neededTokens: number,
    readonly capacityTokens: number,
  ) {
    super(
      `request ${requestId} needs KV for ${neededTokens} tokens (prompt + max_tokens - 1) but the cache holds ` +
        `${capacityTokens}: shorten the prompt, lower max_tokens, or give the KV cache more memory`,
    );
  }
}
