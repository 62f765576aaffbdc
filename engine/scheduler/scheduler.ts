/**
 * Continuous batching (vLLM v1's scheduler): each step mixes decodes and prefill chunks of many requests under one
 * token budget. No GPU inside: `schedule()` returns the step plan (output.ts), `updateFromOutput()` takes the sampled
 * tokens back.
 *
 * One step:
 * 1. Running requests, in order (oldest admission first), each get min(work left, budget) tokens: a decode gets 1, a
 *    prompt longer than the budget gets a chunk now and the rest in later steps. When the KV pool cannot hold a
 *    request's new tokens, the LAST running request is preempted (pages freed, progress reset to 0, put at the front
 *    of the queue to be recomputed later, mostly from the prefix cache) and the allocation is retried. Preempting from
 *    the back means the oldest request always makes progress, and since addRequest rejects any request that could not
 *    fit the pool alone, every request eventually finishes.
 * 2. If nothing was preempted (the pool has room), waiting requests are admitted first come, first served, while the
 *    budget, max_num_seqs and the pool allow; each skips the prefix of its prompt found in the prefix cache. The queue
 *    never skips its head, so a long prompt is not starved by short ones behind it.
 *
 * `numComputedTokens` advances when a step is scheduled, so calling schedule() again before updateFromOutput never
 * schedules the same tokens twice.
 *
 * A request can be held (`hold`): it keeps its pages and its place but is not scheduled until `release`, so a client
 * that reads slowly makes only its own request wait.
 */
import type { KVCacheManager } from '../kv/kv-cache-manager.ts';
import { type SchedulerConfig, validateSchedulerConfig } from './config.ts';
import { RequestTooLargeError } from './errors.ts';
import type { RequestUpdate, ScheduledRequest, SchedulerOutput, SchedulerStats } from './output.ts';
import { FINISHED_STATUS, type FinishReason, type Request } from './request.ts';

export class Scheduler<S = unknown> {
  readonly config: SchedulerConfig;
  private readonly waiting: Request<S>[] = [];
  private readonly running: Request<S>[] = [];
  private readonly requests = new Map<string, Request<S>>();
  private finishedSinceSchedule: string[] = [];
  private readonly held = new Set<string>();
  private step = 0;
  private arrivals = 0;
  private preemptions = 0;

  constructor(
    config: SchedulerConfig,
    readonly kv: KVCacheManager,
  ) {
    this.config = validateSchedulerConfig(config);
  }

  /** Queue a new request. Throws RequestTooLargeError when even alone it could never fit the KV pool. */
  addRequest(request: Request<S>): void {
    if (this.requests.has(request.id)) throw new Error(`request ${request.id} is already in the scheduler`);
    if (request.status !== 'waiting' || request.numComputedTokens !== 0 || request.outputTokenIds.length > 0) {
      throw new Error(`request ${request.id} is not fresh (status ${request.status})`);
    }
    // The last sampled token never needs KV: the request finishes as it is generated.
    const needed = request.numPromptTokens + request.maxTokens - 1;
    const capacity = this.kv.tokensThatFit();
    if (needed > capacity) throw new RequestTooLargeError(request.id, needed, capacity);
    request.arrival = this.arrivals++;
    this.requests.set(request.id, request);
    this.waiting.push(request);
  }

  /** End a request now (client gone): its pages are freed at once. False when it is unknown or already finished. */
  abort(requestId: string): boolean {
    return this.finish(requestId, 'abort');
  }

  /**
   * End a request for a reason found outside the scheduler, e.g. a stop string matched after detokenising ('stop').
   * Frees its pages at once. False when it is unknown or already finished.
   */
  finish(requestId: string, reason: FinishReason): boolean {
    const request = this.requests.get(requestId);
    if (request === undefined) return false;
    removeFrom(this.running, request);
    removeFrom(this.waiting, request);
    this.kv.free(requestId);
    request.status = FINISHED_STATUS[reason];
    this.requests.delete(requestId);
    this.held.delete(requestId);
    this.finishedSinceSchedule.push(requestId);
    return true;
  }

  /** Skip this request in the steps to come (it keeps its pages) until release(). */
  hold(requestId: string): void {
    if (this.requests.has(requestId)) this.held.add(requestId);
  }

  release(requestId: string): void {
    this.held.delete(requestId);
  }

  /** Whether some unfinished request is not held, i.e. schedule() has something it may run. */
  hasSchedulableRequests(): boolean {
    return this.requests.size > this.held.size;
  }

  /** Plan the next step. May be empty (nothing to run, everything held, or nothing fits). */
  schedule(): SchedulerOutput {
    let budget = this.config.maxNumBatchedTokens;
    const scheduled: ScheduledRequest[] = [];
    const preemptedIds: string[] = [];

    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const request = this.running[i];
      if (this.held.has(request.id)) continue;
      const n = this.tokensToSchedule(request, request.numComputedTokens, budget);
      if (n === 0) continue; // its last step's token is not back yet
      let fresh = this.kv.allocateSlots(request, n);
      while (fresh === null) {
        const victim = this.running.pop()!;
        this.preempt(victim);
        preemptedIds.push(victim.id);
        if (victim === request) break;
        fresh = this.kv.allocateSlots(request, n);
      }
      if (fresh === null) break; // the request itself was the last one: nothing after it
      scheduled.push(this.scheduleTokens(request, n, fresh, false));
      budget -= n;
    }

    if (preemptedIds.length === 0) {
      while (this.waiting.length > 0 && budget > 0 && this.running.length < this.config.maxNumSeqs) {
        const request = this.waiting.find((r) => !this.held.has(r.id));
        if (request === undefined) break;
        const computed = this.kv.getComputedBlocks(request);
        const n = this.tokensToSchedule(request, computed.numTokens, budget);
        const fresh = this.kv.allocateSlots(request, n, computed);
        if (fresh === null) break;
        removeFrom(this.waiting, request);
        if (request.numPreemptions === 0) request.numCachedTokens = computed.numTokens;
        request.numComputedTokens = computed.numTokens;
        request.status = 'running';
        this.running.push(request);
        scheduled.push(this.scheduleTokens(request, n, fresh, true));
        budget -= n;
      }
    }

    const finishedIds = this.finishedSinceSchedule;
    this.finishedSinceSchedule = [];
    const numScheduledTokens = this.config.maxNumBatchedTokens - budget;
    return { step: this.step++, scheduled, numScheduledTokens, preemptedIds, finishedIds };
  }

  /**
   * Take the tokens sampled for a step (for each entry of `output` with `sample`: its new token(s), in order), append
   * them, and apply the stop conditions (EOS and stop token ids, max_tokens). Finished requests free their pages now.
   * Tokens for requests aborted since `output` was planned are ignored.
   */
  updateFromOutput(output: SchedulerOutput, sampled: ReadonlyMap<string, readonly number[]>): RequestUpdate[] {
    const sampling = new Set(output.scheduled.filter((r) => r.sample).map((r) => r.requestId));
    for (const id of sampled.keys()) {
      if (!sampling.has(id)) throw new Error(`updateFromOutput: step ${output.step} did not sample request ${id}`);
    }
    const updates: RequestUpdate[] = [];
    for (const id of sampling) {
      const request = this.requests.get(id);
      if (request === undefined || request.status !== 'running') continue;
      const tokens = sampled.get(id);
      if (tokens === undefined || tokens.length === 0) {
        throw new Error(`updateFromOutput: no sampled token for request ${id} in step ${output.step}`);
      }
      const update: RequestUpdate = { requestId: id, newTokenIds: [], finishReason: null, stopTokenId: null };
      for (const t of tokens) {
        if (!Number.isInteger(t) || t < 0) throw new RangeError(`updateFromOutput: request ${id} sampled token ${t}`);
        request.outputTokenIds.push(t);
        update.newTokenIds.push(t);
        const reason = request.stopReason(t);
        if (reason === null) continue;
        update.finishReason = reason;
        if (reason === 'stop') update.stopTokenId = t;
        break;
      }
      if (update.finishReason !== null) this.finish(id, update.finishReason);
      updates.push(update);
    }
    return updates;
  }

  getRequest(requestId: string): Request<S> | undefined {
    return this.requests.get(requestId);
  }

  /** Running requests, in scheduling order. */
  runningRequests(): readonly Request<S>[] {
    return this.running;
  }

  /** Waiting (and preempted) requests, in admission order. */
  waitingRequests(): readonly Request<S>[] {
    return this.waiting;
  }

  hasUnfinishedRequests(): boolean {
    return this.requests.size > 0;
  }

  stats(): SchedulerStats {
    return {
      step: this.step,
      numRunning: this.running.length,
      numWaiting: this.waiting.length,
      numPreemptions: this.preemptions,
      numHeld: this.held.size,
    };
  }

  /** Tokens to compute now for a request with `computed` tokens done: the rest, capped by the threshold and budget. */
  private tokensToSchedule(request: Request<S>, computed: number, budget: number): number {
    let n = request.numTokens - computed;
    const threshold = this.config.longPrefillTokenThreshold;
    if (threshold !== undefined && n > threshold) n = threshold;
    return Math.min(n, budget);
  }

  private scheduleTokens(request: Request<S>, n: number, fresh: number[], isNew: boolean): ScheduledRequest {
    const start = request.numComputedTokens;
    request.numComputedTokens += n;
    return {
      requestId: request.id,
      tokenIds: request.tokenSlice(start, start + n),
      start,
      blockTable: this.kv.blockTable(request.id).slice(),
      newBlocks: fresh,
      sample: request.numComputedTokens === request.numTokens,
      isNew,
      numCachedTokens: isNew ? start : 0,
    };
  }

  /** Recompute later: free the pages (they stay in the prefix cache until evicted) and queue it first. */
  private preempt(request: Request<S>): void {
    this.kv.free(request.id);
    request.numComputedTokens = 0;
    request.status = 'preempted';
    request.numPreemptions++;
    this.preemptions++;
    this.waiting.unshift(request);
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
