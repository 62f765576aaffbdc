/**
 * Streams that end cleanly: a reader that stops cancels its request, a slow reader holds only its own request (and a
 * bounded backlog), abort listeners are removed, close() ends requests with 'abort' and frees their pages.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { EngineClosedError } from '../../../engine/serving/errors.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32, prompts, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

const BACKLOG = 4;

async function engine(): Promise<Engine> {
  return Engine.create(await testGpu(), model, { cache: { pageSize: 16, memoryBytes: MB32 }, eventBacklog: BACKLOG });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
}

it('a reader that stops iterating cancels its request and frees its pages', async () => {
  const e = await engine();
  const [p] = prompts([50], 1);
  let seen = 0;
  for await (const event of e.generate({ promptTokenIds: p, sampling: greedy(60) })) {
    if (event.type === 'token' && ++seen === 3) break;
  }
  await until(() => e.stats().running === 0, 'the request ended');
  const s = e.stats();
  assert.equal(s.kv.freePages, s.kv.numPages, 'every page is back');
  assert.ok(s.generatedTokens < 30, `stopped early: ${s.generatedTokens} tokens generated`);
  await e.close();
});

it('a slow reader holds only its own request, with a bounded backlog', async () => {
  const e = await engine();
  const [slowPrompt, fastPrompt] = prompts([30, 30], 2);
  const slow = e.generate({ promptTokenIds: slowPrompt, sampling: greedy(40) });
  const iterator = slow[Symbol.asyncIterator]();
  await iterator.next(); // start reading, then stop
  await until(() => e.stats().held === 1, 'the unread request is held');
  const heldAt = e.stats().generatedTokens;
  const fast = await collect(e.generate({ promptTokenIds: fastPrompt, sampling: greedy(20) }));
  assert.equal(fast.ids.length, 20, 'the other request ran to the end meanwhile');
  assert.ok(e.stats().generatedTokens - heldAt <= 20 + 1, 'the held request did not advance');
  assert.ok(heldAt <= BACKLOG + 3, `the backlog stayed bounded (${heldAt} tokens before holding)`);
  let rest = 1;
  while (!(await iterator.next()).done) rest++;
  assert.ok(rest >= 40, `the slow reader gets all its tokens once it reads (${rest} events)`);
  assert.equal(e.stats().held, 0);
  await e.close();
});

it('removes its abort listener when a request ends', async () => {
  const e = await engine();
  const controller = new AbortController();
  const [p] = prompts([20], 3);
  await collect(e.generate({ promptTokenIds: p, sampling: greedy(3) }, controller.signal));
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  await e.close();
});

it("close() ends running requests with 'abort', frees their pages, and refuses new ones", async () => {
  const e = await engine();
  const [a, b] = prompts([40, 40], 4);
  const runs = [a, b].map((p) => collect(e.generate({ promptTokenIds: p, sampling: greedy(100) })));
  await until(() => e.stats().generatedTokens > 4, 'both are generating');
  await e.close();
  for (const r of await Promise.all(runs)) {
    assert.equal(r.done.finishReason, 'abort');
    assert.ok(r.ids.length < 100);
  }
  await assert.rejects(collect(e.generate({ promptTokenIds: a, sampling: greedy(2) })), EngineClosedError);
});
