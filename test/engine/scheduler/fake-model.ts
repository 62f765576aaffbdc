/**
 * A deterministic fake model that reads its context through the paged KV cache, and the invariants checked after
 * every scheduled step. With it the scheduler and the KV manager are tested end to end without a GPU: a wrong block
 * table, a page evicted while in use, a bad prefix-cache hit or a token computed twice changes what the fake model
 * reads, hence the tokens it generates, which are compared with the same model run on each request alone.
 */
import assert from 'node:assert/strict';
import type { KVCacheManager } from '../../../engine/kv/kv-cache-manager.ts';
import type { SchedulerOutput } from '../../../engine/scheduler/output.ts';
import type { Request, RequestInit } from '../../../engine/scheduler/request.ts';
import type { Scheduler } from '../../../engine/scheduler/scheduler.ts';

export const VOCAB = 1000;

/** The "model": next token = f(every previous token), order-sensitive (FNV-1a over the ids). */
export function nextToken(context: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < context.length; i++) h = Math.imul(h ^ context[i], 0x01000193) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  return ((h ^ (h >>> 13)) >>> 0) % VOCAB;
}

/** The oracle: the model run on one request alone, with the same stop rules as the scheduler. */
export function generateAlone(init: RequestInit): number[] {
  const tokens = [...init.promptTokenIds];
  const stops = new Set([...(init.ignoreEos ? [] : (init.eosTokenIds ?? [])), ...(init.stopTokenIds ?? [])]);
  const out: number[] = [];
  while (out.length < init.maxTokens) {
    const t = nextToken(tokens);
    tokens.push(t);
    out.push(t);
    if (stops.has(t)) break;
  }
  return out;
}

/**
 * Runs SchedulerOutputs the way the GPU runner must: fresh pages start empty; every scheduled token is written to its
 * slot (which must be empty: no page is written twice or shared while written) before any request reads; then each
 * sampling request reads its whole context back from its block table and "computes" the next token.
 */
export class PagedFakeModel {
  private readonly slots: Int32Array; // token id stored at (page, slot), -1 = empty
  /** Tokens computed (written) so far, over all steps. */
  tokensComputed = 0;

  constructor(
    numPages: number,
    private readonly pageSize: number,
  ) {
    this.slots = new Int32Array(numPages * pageSize).fill(-1);
  }

  run(output: SchedulerOutput): Map<string, number[]> {
    const ps = this.pageSize;
    for (const r of output.scheduled) {
      for (const b of r.newBlocks) this.slots.fill(-1, b * ps, (b + 1) * ps);
    }
    for (const r of output.scheduled) {
      r.tokenIds.forEach((t, i) => {
        const pos = r.start + i;
        const at = r.blockTable[Math.floor(pos / ps)] * ps + (pos % ps);
        assert.equal(this.slots[at], -1, `${r.requestId}: position ${pos} written into a slot already holding a token`);
        this.slots[at] = t;
      });
      this.tokensComputed += r.tokenIds.length;
    }
    const sampled = new Map<string, number[]>();
    for (const r of output.scheduled) {
      if (!r.sample) continue;
      const n = r.start + r.tokenIds.length;
      const context = new Int32Array(n);
      for (let pos = 0; pos < n; pos++) {
        const v = this.slots[r.blockTable[Math.floor(pos / ps)] * ps + (pos % ps)];
        assert.notEqual(v, -1, `${r.requestId}: position ${pos} read from an empty slot`);
        context[pos] = v;
      }
      sampled.set(r.requestId, [nextToken(context)]);
    }
    return sampled;
  }
}

/** Every invariant of the scheduler and KV pool that must hold between steps (and the step plan's own bounds). */
export function checkInvariants(scheduler: Scheduler, kv: KVCacheManager, output?: SchedulerOutput): void {
  const pool = kv.pool;
  const running = scheduler.runningRequests();
  const { maxNumSeqs, maxNumBatchedTokens } = scheduler.config;
  assert.ok(running.length <= maxNumSeqs, `${running.length} running > max_num_seqs ${maxNumSeqs}`);

  const owners = new Set(kv.owners());
  assert.deepEqual([...owners].sort(), running.map((r) => r.id).sort(), 'only running requests hold pages');
  for (const r of scheduler.waitingRequests()) assert.equal(r.status === 'waiting' || r.status === 'preempted', true);

  const counts = new Int32Array(pool.numPages);
  for (const r of running) {
    const table = kv.blockTable(r.id);
    assert.equal(table.length, kv.pagesFor(r.numComputedTokens), `${r.id}: table covers its computed tokens`);
    assert.equal(new Set(table).size, table.length, `${r.id}: a page twice in one table`);
    for (const b of table) counts[b]++;
  }
  let used = 0;
  const free = new Set(pool.freeOrder());
  assert.equal(free.size, pool.numFree, 'free list length = numFree');
  for (let b = 0; b < pool.numPages; b++) {
    assert.equal(pool.refCount(b), counts[b], `block ${b}: refcount = number of tables listing it`);
    if (counts[b] > 1) assert.notEqual(pool.hashOf(b), null, `block ${b} shared by ${counts[b]} but not cached`);
    if (counts[b] > 0) used++;
    assert.equal(free.has(b), counts[b] === 0, `block ${b}: in the free list iff unowned`);
    const h = pool.hashOf(b);
    if (h !== null) assert.equal(pool.lookup(h), b, `block ${b}: hash maps back to it`);
  }
  assert.equal(used + pool.numFree, pool.numPages, 'used + free = total');

  if (output === undefined) return;
  const total = output.scheduled.reduce((s, r) => s + r.tokenIds.length, 0);
  assert.equal(output.numScheduledTokens, total);
  assert.ok(total <= maxNumBatchedTokens, `step ${output.step}: ${total} tokens > budget ${maxNumBatchedTokens}`);
  assert.ok(output.scheduled.length <= maxNumSeqs);
  assert.equal(new Set(output.scheduled.map((r) => r.requestId)).size, output.scheduled.length);
  for (const r of output.scheduled) {
    assert.ok(r.tokenIds.length >= 1);
    assert.ok(r.blockTable.length * kv.pageSize >= r.start + r.tokenIds.length, `${r.requestId}: table too short`);
  }
}

export interface SimResult {
  steps: number;
  /** Every request by id, finished ones included (the scheduler forgets them). */
  requests: Map<string, Request>;
}

/**
 * Drive the scheduler with the fake model until every request finished, checking invariants each step.
 * `beforeStep(step)` may add or abort requests (return the ones added, so their outputs can be checked).
 */
export function simulate(
  scheduler: Scheduler,
  model: PagedFakeModel,
  opts: {
    maxSteps?: number;
    beforeStep?: (step: number) => Request[];
    /** True while requests are still to arrive, so an idle scheduler does not end the simulation. */
    pending?: () => boolean;
    onOutput?: (o: SchedulerOutput) => void;
  } = {},
): SimResult {
  const requests = new Map<string, Request>();
  for (const r of scheduler.waitingRequests()) requests.set(r.id, r as Request);
  for (const r of scheduler.runningRequests()) requests.set(r.id, r as Request);
  const maxSteps = opts.maxSteps ?? 100_000;
  let step = 0;
  for (; step < maxSteps; step++) {
    for (const r of opts.beforeStep?.(step) ?? []) requests.set(r.id, r);
    if (!scheduler.hasUnfinishedRequests() && !opts.pending?.()) break;
    const output = scheduler.schedule();
    checkInvariants(scheduler, scheduler.kv, output);
    opts.onOutput?.(output);
    scheduler.updateFromOutput(output, model.run(output));
    checkInvariants(scheduler, scheduler.kv);
  }
  assert.ok(!scheduler.hasUnfinishedRequests(), `not finished after ${maxSteps} steps`);
  return { steps: step, requests };
}
