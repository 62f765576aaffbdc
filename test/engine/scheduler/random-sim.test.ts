/**
 * Seeded random simulations: random pool and page sizes, budgets, arrivals, shared prefixes, aborts and stop-string
 * finishes, with every invariant (fake-model.ts checkInvariants) checked after each schedule() and each update. A
 * failure names its seed; rerun just that seed to reproduce it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Request, type RequestInit } from '../../../engine/scheduler/request.ts';
import { Rng } from '../../helpers/random.ts';
import { generateAlone, simulate } from './fake-model.ts';
import { setup, tokens } from './setup.ts';

function runSeed(seed: number): { preemptions: number; hits: number; aborted: number } {
  const rng = new Rng(seed);
  const pageSize = rng.pick([1, 2, 4, 8, 16]);
  const maxNumSeqs = rng.int(1, 8);
  const maxNumBatchedTokens = rng.int(maxNumSeqs, 160);
  const longPrefillTokenThreshold = rng.next() < 0.3 ? rng.int(1, maxNumBatchedTokens) : undefined;
  const numRequests = rng.int(4, 24);
  const prefixes = [0, 1, 2].map((i) => tokens(rng.int(1, 120), seed * 10 + i));
  const inits: RequestInit[] = [];
  const arrivals: number[] = [];
  let longest = 0;
  for (let i = 0; i < numRequests; i++) {
    const own = tokens(rng.int(1, 80), seed * 1000 + i);
    const prompt = rng.next() < 0.6 ? [...rng.pick(prefixes), ...own] : own;
    const maxTokens = rng.int(1, 60);
    longest = Math.max(longest, prompt.length + maxTokens);
    inits.push({
      id: `s${seed}r${i}`,
      promptTokenIds: prompt,
      maxTokens,
      eosTokenIds: rng.next() < 0.3 ? [5, 6, 7] : [],
    });
    arrivals.push(rng.int(0, 40));
  }
  // Between "the longest request alone" and "everything at once": preemption is likely but never a livelock.
  const numPages = Math.ceil(longest / pageSize) + rng.int(0, Math.ceil((longest * 3) / pageSize));
  const { kv, scheduler, model } = setup({
    numPages,
    pageSize,
    enablePrefixCaching: rng.next() < 0.85,
    scheduler: { maxNumSeqs, maxNumBatchedTokens, longPrefillTokenThreshold },
  });
  const externallyFinished = new Set<string>();
  let added = 0;
  const { requests } = simulate(scheduler, model, {
    beforeStep: (step) => {
      const fresh: Request[] = [];
      inits.forEach((init, i) => {
        if (arrivals[i] !== step) return;
        const r = new Request(init);
        scheduler.addRequest(r);
        fresh.push(r);
        added++;
      });
      const live = [...scheduler.runningRequests(), ...scheduler.waitingRequests()];
      if (live.length > 0 && rng.next() < 0.015) {
        const victim = rng.pick(live);
        scheduler.finish(victim.id, rng.next() < 0.5 ? 'abort' : 'stop');
        externallyFinished.add(victim.id);
      }
      return fresh;
    },
    pending: () => added < inits.length,
  });
  for (const init of inits) {
    const r = requests.get(init.id)!;
    const solo = generateAlone(init);
    if (externallyFinished.has(init.id)) {
      assert.deepEqual(r.outputTokenIds, solo.slice(0, r.outputTokenIds.length), `seed ${seed}: ${init.id}`);
    } else assert.deepEqual(r.outputTokenIds, solo, `seed ${seed}: ${init.id}`);
  }
  assert.equal(kv.pool.numFree, numPages, `seed ${seed}: pool back to its initial free count`);
  return {
    preemptions: scheduler.stats().numPreemptions,
    hits: kv.stats().prefixCacheHits,
    aborted: externallyFinished.size,
  };
}

it('random simulations keep every invariant and reproduce each request run alone', () => {
  let preemptions = 0;
  let hits = 0;
  let aborted = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const s = runSeed(seed);
    preemptions += s.preemptions;
    hits += s.hits;
    aborted += s.aborted;
  }
  // The simulations must actually exercise the hard paths.
  assert.ok(preemptions > 50, `only ${preemptions} preemptions`);
  assert.ok(hits > 1000, `only ${hits} prefix-cache hit tokens`);
  assert.ok(aborted > 20, `only ${aborted} aborted or stopped requests`);
});
