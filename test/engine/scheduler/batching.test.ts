/**
 * Many requests at once: prefix sharing, chunked prefill interleaved with decodes, preemption by recompute, and the
 * scheduler-level equivalence test (every request produces exactly the tokens it produces alone).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SchedulerOutput } from '../../../engine/scheduler/output.ts';
import { Request, type RequestInit } from '../../../engine/scheduler/request.ts';
import { Rng } from '../../helpers/random.ts';
import { generateAlone, simulate } from './fake-model.ts';
import { setup, tokens } from './setup.ts';

/** Tokens each request computed while its prompt was not yet complete (its prefill work). */
function prefillTokens(outputs: SchedulerOutput[], promptLength: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of outputs) {
    for (const r of o.scheduled) {
      const p = promptLength.get(r.requestId)!;
      const n = Math.max(0, Math.min(p, r.start + r.tokenIds.length) - r.start);
      out.set(r.requestId, (out.get(r.requestId) ?? 0) + n);
    }
  }
  return out;
}

for (const [label, budget, together] of [
  ['arriving together, one step', 2048, true],
  ['arriving together, chunked prefill', 256, true],
  ['the second after the first finished', 2048, false],
] as const) {
  it(`two requests sharing a 1,000-token prefix (${label}): the second computes < 10% of the first's prefill`, () => {
    const { kv, scheduler, model } = setup({ numPages: 64, pageSize: 64, scheduler: { maxNumBatchedTokens: budget } });
    const prefix = tokens(1000, 42);
    const a: RequestInit = { id: 'a', promptTokenIds: [...prefix, ...tokens(12, 1)], maxTokens: 8 };
    const b: RequestInit = { id: 'b', promptTokenIds: [...prefix, ...tokens(30, 2)], maxTokens: 8 };
    scheduler.addRequest(new Request(a));
    let addedB = false;
    const addB = () => {
      addedB = true;
      const r = new Request(b);
      scheduler.addRequest(r);
      return [r];
    };
    if (together) addB();
    const outputs: SchedulerOutput[] = [];
    const { requests } = simulate(scheduler, model, {
      beforeStep: () => (!addedB && !scheduler.hasUnfinishedRequests() ? addB() : []),
      pending: () => !addedB,
      onOutput: (o) => outputs.push(o),
    });
    const work = prefillTokens(
      outputs,
      new Map([
        ['a', a.promptTokenIds.length],
        ['b', b.promptTokenIds.length],
      ]),
    );
    assert.equal(work.get('a'), 1012);
    assert.ok(work.get('b')! < 0.1 * work.get('a')!, `b computed ${work.get('b')} prompt tokens`);
    assert.equal(requests.get('b')!.numCachedTokens, 960); // 15 full pages of 64
    assert.deepEqual(requests.get('a')!.outputTokenIds, generateAlone(a));
    assert.deepEqual(requests.get('b')!.outputTokenIds, generateAlone(b));
    assert.equal(kv.pool.numFree, 64);
    assert.equal(kv.stats().prefixCacheHits, 960);
  });
}

it('a prompt longer than max_num_batched_tokens is chunked while the others keep decoding between its chunks', () => {
  const { scheduler, model } = setup({ numPages: 128, pageSize: 16, scheduler: { maxNumBatchedTokens: 64 } });
  const short = [0, 1, 2].map((i) => ({ id: `s${i}`, promptTokenIds: tokens(10, i), maxTokens: 60 }));
  const long: RequestInit = { id: 'long', promptTokenIds: tokens(300, 9), maxTokens: 5 };
  for (const s of short) scheduler.addRequest(new Request(s));
  const chunkSteps: SchedulerOutput[] = [];
  let addedLong = false;
  const { requests } = simulate(scheduler, model, {
    beforeStep: (step) => {
      if (step !== 3) return [];
      addedLong = true;
      const r = new Request(long);
      scheduler.addRequest(r);
      return [r];
    },
    pending: () => !addedLong,
    onOutput: (o) => {
      const l = o.scheduled.find((r) => r.requestId === 'long');
      if (l && l.start < 300) chunkSteps.push(o);
    },
  });
  assert.ok(chunkSteps.length >= 5, `prompt of 300 in ${chunkSteps.length} chunks`);
  for (const o of chunkSteps) {
    const decodes = o.scheduled.filter((r) => r.requestId !== 'long');
    assert.equal(decodes.length, 3, `step ${o.step}: the three short requests decode beside the chunk`);
    for (const d of decodes) assert.equal(d.tokenIds.length, 1);
    assert.equal(o.numScheduledTokens <= 64, true);
  }
  for (const init of [...short, long]) assert.deepEqual(requests.get(init.id)!.outputTokenIds, generateAlone(init));
});

it('a pool too small for all requests preempts, counts it, and every request still gets its full output', () => {
  const { kv, scheduler, model } = setup({ numPages: 12, pageSize: 4, scheduler: { maxNumBatchedTokens: 64 } });
  const inits = [0, 1, 2, 3].map((i) => ({ id: `r${i}`, promptTokenIds: tokens(8 + i, i), maxTokens: 16 }));
  for (const init of inits) scheduler.addRequest(new Request(init));
  const preempted: string[] = [];
  let resumedWithCache = 0;
  const { requests } = simulate(scheduler, model, {
    onOutput: (o) => {
      preempted.push(...o.preemptedIds);
      for (const r of o.scheduled) {
        if (r.isNew && scheduler.getRequest(r.requestId)!.numPreemptions > 0 && r.numCachedTokens > 0)
          resumedWithCache++;
      }
    },
  });
  assert.ok(preempted.length > 0, 'the pool forced preemptions');
  assert.equal(scheduler.stats().numPreemptions, preempted.length);
  assert.equal(
    [...requests.values()].reduce((n, r) => n + r.numPreemptions, 0),
    preempted.length,
  );
  assert.ok(resumedWithCache > 0, 'a resumed request found its own pages in the prefix cache');
  for (const init of inits) {
    const r = requests.get(init.id)!;
    assert.equal(r.outputTokenIds.length, 16);
    assert.deepEqual(r.outputTokenIds, generateAlone(init));
  }
  assert.equal(kv.pool.numFree, 12);
});

for (const [label, numPages, maxNumSeqs] of [
  ['ample pool', 512, 16],
  ['tight pool, preempting', 40, 16],
  ['max_num_seqs 5', 512, 5],
] as const) {
  it(`16 concurrent requests of different lengths produce exactly what each produces alone (${label})`, () => {
    const rng = new Rng(1234);
    const { kv, scheduler, model } = setup({
      numPages,
      pageSize: 16,
      scheduler: { maxNumBatchedTokens: 128, maxNumSeqs },
    });
    const system = tokens(70, 99); // a shared system prompt for half of them
    const inits: RequestInit[] = [];
    for (let i = 0; i < 16; i++) {
      const own = tokens(rng.int(1, 300), 1000 + i);
      inits.push({
        id: `q${i}`,
        promptTokenIds: i % 2 === 0 ? [...system, ...own] : own,
        maxTokens: rng.int(1, 80),
        eosTokenIds: i % 3 === 0 ? [...Array(40).keys()] : [],
      });
    }
    for (const init of inits) scheduler.addRequest(new Request(init));
    const { requests } = simulate(scheduler, model);
    for (const init of inits) assert.deepEqual(requests.get(init.id)!.outputTokenIds, generateAlone(init), init.id);
    if (numPages === 40) assert.ok(scheduler.stats().numPreemptions > 0);
    assert.equal(kv.pool.numFree, numPages);
  });
}
