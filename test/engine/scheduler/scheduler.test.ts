/** The scheduler step by step: admission, chunked prefill, stop conditions, aborts, and the pool coming back whole. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RequestTooLargeError } from '../../../engine/scheduler/errors.ts';
import { Request } from '../../../engine/scheduler/request.ts';
import { generateAlone, simulate } from './fake-model.ts';
import { setup, tokens } from './setup.ts';

it('runs requests to completion and returns the pool to its initial free count', () => {
  const { kv, scheduler, model } = setup({ numPages: 64, pageSize: 8, scheduler: {} });
  const inits = [0, 1, 2, 3].map((i) => ({ id: `r${i}`, promptTokenIds: tokens(10 + 17 * i, i), maxTokens: 20 + i }));
  for (const init of inits) scheduler.addRequest(new Request(init));
  const { requests } = simulate(scheduler, model);
  for (const init of inits) {
    const r = requests.get(init.id)!;
    assert.deepEqual(r.outputTokenIds, generateAlone(init));
    assert.equal(r.status, 'finished_length');
  }
  assert.equal(kv.pool.numFree, 64);
});

it('aborts mid-generation free pages at once and the pool comes back whole', () => {
  const { kv, scheduler, model } = setup({ numPages: 64, pageSize: 8, scheduler: {} });
  for (let i = 0; i < 4; i++) {
    scheduler.addRequest(new Request({ id: `r${i}`, promptTokenIds: tokens(30, i), maxTokens: 100 }));
  }
  let out = scheduler.schedule();
  scheduler.updateFromOutput(out, model.run(out));
  out = scheduler.schedule();
  // Abort between schedule and update: the step still runs; its token for r1 is ignored.
  const held = kv.blockTable('r1').length;
  const free = kv.pool.numFree;
  assert.ok(scheduler.abort('r1'));
  assert.equal(kv.pool.numFree, free + held, 'pages freed at once');
  const updates = scheduler.updateFromOutput(out, model.run(out));
  assert.deepEqual(updates.map((u) => u.requestId).sort(), ['r0', 'r2', 'r3']);
  out = scheduler.schedule();
  assert.deepEqual(out.finishedIds, ['r1']);
  scheduler.updateFromOutput(out, model.run(out));
  assert.ok(scheduler.abort('r0'));
  assert.ok(scheduler.abort('r2'));
  assert.ok(scheduler.abort('r3'));
  assert.equal(scheduler.abort('r3'), false);
  assert.equal(kv.pool.numFree, 64);
  assert.equal(scheduler.hasUnfinishedRequests(), false);
});

it('stops on EOS, on stop token ids, at max_tokens, and on finish() for stop strings', () => {
  const prompt = tokens(20, 7);
  const solo = generateAlone({ id: 'x', promptTokenIds: prompt, maxTokens: 40 });
  const stopAt = solo[5];
  const cases = [
    { id: 'eos', promptTokenIds: prompt, maxTokens: 40, eosTokenIds: [stopAt] },
    { id: 'stop', promptTokenIds: prompt, maxTokens: 40, stopTokenIds: [stopAt] },
    { id: 'ignore', promptTokenIds: prompt, maxTokens: 40, eosTokenIds: [stopAt], ignoreEos: true },
    { id: 'len', promptTokenIds: prompt, maxTokens: 3 },
    { id: 'str', promptTokenIds: prompt, maxTokens: 40 },
  ];
  const { kv, scheduler, model } = setup({ numPages: 64, pageSize: 4, scheduler: {} });
  for (const c of cases) scheduler.addRequest(new Request(c));
  const { requests } = simulate(scheduler, model, {
    onOutput: () => {
      const str = scheduler.getRequest('str');
      if (str && str.outputTokenIds.length === 8) scheduler.finish('str', 'stop'); // "found a stop string"
    },
  });
  // Each output is the solo one, cut at its stop.
  assert.deepEqual(requests.get('eos')!.outputTokenIds, solo.slice(0, 6));
  assert.equal(requests.get('eos')!.status, 'finished_stopped');
  assert.equal(requests.get('stop')!.status, 'finished_stopped');
  assert.deepEqual(requests.get('ignore')!.outputTokenIds, solo);
  assert.equal(requests.get('len')!.status, 'finished_length');
  assert.equal(requests.get('len')!.outputTokenIds.length, 3);
  assert.equal(requests.get('str')!.status, 'finished_stopped');
  assert.deepEqual(requests.get('str')!.outputTokenIds, solo.slice(0, 8));
  assert.equal(kv.pool.numFree, 64);
});

it('reports the stop token and the finish reason in updates', () => {
  const prompt = tokens(5, 3);
  const first = generateAlone({ id: 'x', promptTokenIds: prompt, maxTokens: 1 })[0];
  const { scheduler, model } = setup({ numPages: 8, pageSize: 4, scheduler: {} });
  scheduler.addRequest(new Request({ id: 'a', promptTokenIds: prompt, maxTokens: 5, eosTokenIds: [first] }));
  const out = scheduler.schedule();
  assert.deepEqual(scheduler.updateFromOutput(out, model.run(out)), [
    { requestId: 'a', newTokenIds: [first], finishReason: 'stop', stopTokenId: first },
  ]);
});

it('rejects bad runner output and requests that can never fit', () => {
  const { scheduler } = setup({ numPages: 4, pageSize: 4, scheduler: {} });
  assert.throws(
    () => scheduler.addRequest(new Request({ id: 'big', promptTokenIds: tokens(10, 1), maxTokens: 8 })),
    (e: unknown) => e instanceof RequestTooLargeError && /needs KV for 17 tokens .* holds 16/.test(e.message),
  );
  scheduler.addRequest(new Request({ id: 'ok', promptTokenIds: tokens(10, 1), maxTokens: 7 }));
  assert.throws(() => scheduler.addRequest(new Request({ id: 'ok', promptTokenIds: [1], maxTokens: 1 })), /already/);
  const out = scheduler.schedule();
  assert.throws(() => scheduler.updateFromOutput(out, new Map()), /no sampled token for request ok/);
  assert.throws(() => scheduler.updateFromOutput(out, new Map([['zz', [1]]])), /did not sample request zz/);
});

it('never schedules the same tokens twice when schedule() runs again before the update', () => {
  const { scheduler } = setup({ numPages: 16, pageSize: 4, scheduler: {} });
  scheduler.addRequest(new Request({ id: 'a', promptTokenIds: tokens(10, 1), maxTokens: 4 }));
  assert.equal(scheduler.schedule().numScheduledTokens, 10);
  assert.equal(scheduler.schedule().scheduled.length, 0);
});

it('respects max_num_seqs and admits first come, first served', () => {
  const { scheduler, model } = setup({ numPages: 64, pageSize: 4, scheduler: { maxNumSeqs: 2 } });
  for (let i = 0; i < 5; i++) scheduler.addRequest(new Request({ id: `r${i}`, promptTokenIds: [7 + i], maxTokens: 3 }));
  const admitted: string[] = [];
  simulate(scheduler, model, {
    onOutput: (o) => {
      assert.ok(scheduler.runningRequests().length <= 2);
      for (const r of o.scheduled) if (r.isNew) admitted.push(r.requestId);
    },
  });
  assert.deepEqual(admitted, ['r0', 'r1', 'r2', 'r3', 'r4']);
});

it('caps long prefills at long_prefill_token_threshold so queued prompts start in the same step', () => {
  const { scheduler } = setup({
    numPages: 64,
    pageSize: 4,
    scheduler: { maxNumBatchedTokens: 64, maxNumSeqs: 4, longPrefillTokenThreshold: 16 },
  });
  scheduler.addRequest(new Request({ id: 'long', promptTokenIds: tokens(100, 1), maxTokens: 2 }));
  scheduler.addRequest(new Request({ id: 'short', promptTokenIds: tokens(10, 2), maxTokens: 2 }));
  const out = scheduler.schedule();
  assert.deepEqual(
    out.scheduled.map((r) => [r.requestId, r.start, r.tokenIds.length, r.sample]),
    [
      ['long', 0, 16, false],
      ['short', 0, 10, true],
    ],
  );
});
