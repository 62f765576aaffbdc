/**
 * One generation request as the scheduler sees it: token ids in, token ids out. There is no prefill or decode state:
 * a request has `numTokens` known (prompt + output) and `numComputedTokens` whose K/V is computed; whatever lies
 * between is the work left. Sampling parameters ride along untouched (`S`), read only by the sampler.
 */
import type { BlockHash } from '../kv/block-hash.ts';
import type { KVRequest } from '../kv/kv-cache-manager.ts';

export type RequestStatus =
  | 'waiting'
  | 'running'
  | 'preempted'
  | 'finished_stopped'
  | 'finished_length'
  | 'finished_aborted';

/** Why a request ended: a stop token or stop string, max_tokens, or the client went away. */
export type FinishReason = 'stop' | 'length' | 'abort';

export const FINISHED_STATUS: Record<FinishReason, RequestStatus> = {
  stop: 'finished_stopped',
  length: 'finished_length',
  abort: 'finished_aborted',
};

export interface RequestInit<S = unknown> {
  id: string;
  /** Non-empty; integers >= 0. */
  promptTokenIds: readonly number[];
  /** Most tokens to generate, >= 1 (the engine has already clamped it to the context size). */
  maxTokens: number;
  /** End-of-sequence ids: generating one finishes with 'stop' unless ignoreEos. */
  eosTokenIds?: readonly number[];
  /** Further ids that finish with 'stop' (OpenAI's stop_token_ids); never ignored. */
  stopTokenIds?: readonly number[];
  ignoreEos?: boolean;
  /** Sampling parameters, opaque here. */
  sampling?: S;
  /** Prefix-cache salt: requests with different salts never share pages. */
  cacheSalt?: string;
}

export class Request<S = unknown> implements KVRequest {
  readonly id: string;
  readonly promptTokenIds: readonly number[];
  readonly outputTokenIds: number[] = [];
  readonly maxTokens: number;
  readonly sampling: S | undefined;
  readonly cacheSalt: string | undefined;
  private readonly eos: ReadonlySet<number>;
  private readonly stops: ReadonlySet<number>;

  // Owned by the scheduler.
  status: RequestStatus = 'waiting';
  numComputedTokens = 0;
  /** Order of arrival, set by Scheduler.addRequest (FCFS key). */
  arrival = -1;
  /** Prompt tokens found in the prefix cache at first admission. */
  numCachedTokens = 0;
  numPreemptions = 0;
  readonly blockHashes: BlockHash[] = [];

  constructor(init: RequestInit<S>) {
    const { id, promptTokenIds, maxTokens } = init;
    if (promptTokenIds.length === 0) throw new RangeError(`request ${id}: the prompt is empty`);
    for (let i = 0; i < promptTokenIds.length; i++) {
      const t = promptTokenIds[i];
      if (!Number.isInteger(t) || t < 0) throw new RangeError(`request ${id}: prompt token ${i} is ${t}`);
    }
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new RangeError(`request ${id}: max_tokens (${maxTokens}) must be an integer >= 1`);
    }
    this.id = id;
    this.promptTokenIds = promptTokenIds;
    this.maxTokens = maxTokens;
    this.sampling = init.sampling;
    this.cacheSalt = init.cacheSalt;
    this.eos = new Set(init.ignoreEos ? [] : (init.eosTokenIds ?? []));
    this.stops = new Set(init.stopTokenIds ?? []);
  }

  get numPromptTokens(): number {
    return this.promptTokenIds.length;
  }

  /** Prompt + output tokens known so far. */
  get numTokens(): number {
    return this.promptTokenIds.length + this.outputTokenIds.length;
  }

  get isFinished(): boolean {
    return this.status.startsWith('finished');
  }

  tokenAt(i: number): number {
    const p = this.promptTokenIds.length;
    return i < p ? this.promptTokenIds[i] : this.outputTokenIds[i - p];
  }

  /** Tokens [start, end) of prompt + output. */
  tokenSlice(start: number, end: number): number[] {
    const out = new Array<number>(end - start);
    for (let i = start; i < end; i++) out[i - start] = this.tokenAt(i);
    return out;
  }

  /** Whether `token`, just generated, ends the request, and why (stop tokens take precedence over the length). */
  stopReason(token: number): 'stop' | 'length' | null {
    if (this.eos.has(token) || this.stops.has(token)) return 'stop';
    if (this.outputTokenIds.length >= this.maxTokens) return 'length';
    return null;
  }
}
