/**
 * The grammar worker's watchdog: a step or compile that hangs ends its worker; the requests whose matchers lived
 * there fail with GrammarWorkerError, and new requests get a fresh worker. Schemas XGrammar refuses, many of them,
 * never break the engine.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { GrammarError, GrammarWorkerError } from '../../../engine/grammar/errors.ts';
import type { GrammarEngine } from '../../../engine/grammar/grammar-engine.ts';
import { byteEngine, isAllowed, openVocabulary, type Vocabulary } from './harness.ts';

const STEP_TIMEOUT_MS = 300;
const COMPILE_TIMEOUT_MS = 1500;

let v: Vocabulary;
before(async () => {
  v = await openVocabulary('qwen3', { stepTimeoutMs: STEP_TIMEOUT_MS, compileTimeoutMs: COMPILE_TIMEOUT_MS });
});
after(() => v?.engine.close());

const bytes = (text: string) => [...Buffer.from(text)];

it('a hung step ends its worker: only the requests whose matchers lived there fail, new ones work', async () => {
  const { engine } = v;
  const json = await engine.compile({ type: 'json' });
  const a = await engine.createMatcher(json);
  const b = await engine.createMatcher(json);
  assert.equal((await engine.step([{ matcher: a }, { matcher: b }]))[0].failure, undefined);
  const before = engine.stats().workersStarted;

  await engine.debugHangWorker(60_000);
  const t0 = performance.now();
  const hung = await engine.step([{ matcher: a, accept: v.tokenizer.encode('{')[0] }, { matcher: b }]);
  const waited = performance.now() - t0;
  for (const r of hung) {
    assert.ok(r.failure instanceof GrammarWorkerError, 'both matchers lived in the hung worker');
    assert.match(r.failure.message, /step request ran past its 300 ms timeout/);
    assert.equal(r.terminated, true);
  }
  assert.ok(waited < STEP_TIMEOUT_MS + 1000, `the watchdog took ${waited.toFixed(0)} ms`);

  // A new request compiles its grammar again in a fresh worker and runs; the old matchers keep failing at once.
  const c = await engine.createMatcher(json);
  assert.equal(engine.stats().workersStarted, before + 1);
  const mixed = await engine.step([{ matcher: a }, { matcher: c }]);
  assert.ok(mixed[0].failure instanceof GrammarWorkerError);
  assert.equal(mixed[1].failure, undefined);
  assert.ok(mixed[1].mask, 'a JSON object constrains its first token');
  for (const m of [a, b, c]) engine.release(m);
});

it('a compile that runs past its timeout is refused as a GrammarError; the next request works', async () => {
  const { engine } = v;
  const survivor = await engine.createMatcher(await engine.compile({ type: 'json' }));
  // Long string bounds expand into large repetitions: measured ~1.9 s for maxLength 40 on Qwen3's vocabulary.
  const slow = { type: 'object', properties: { s: { type: 'string', minLength: 100, maxLength: 400 } } };
  const t0 = performance.now();
  await assert.rejects(engine.compile({ type: 'json_schema', schema: slow }), (e: unknown) => {
    assert.ok(e instanceof GrammarError);
    assert.equal(e.field, 'grammar.schema');
    assert.match(e.message, /could not be compiled within 1500 ms/);
    return true;
  });
  assert.ok(performance.now() - t0 < COMPILE_TIMEOUT_MS + 1500);
  // The matcher that shared the hung worker fails; a new grammar compiles and runs in a fresh worker.
  assert.ok((await engine.step([{ matcher: survivor }]))[0].failure instanceof GrammarWorkerError);
  const fresh = await engine.createMatcher(await engine.compile({ type: 'json_schema', schema: { type: 'integer' } }));
  const [r] = await engine.step([{ matcher: fresh }]);
  assert.equal(r.failure, undefined);
  engine.release(fresh);
  engine.release(survivor);
});

it('40 schemas XGrammar refuses each fail alone; the engine keeps working and retires its worker', async () => {
  let engine: GrammarEngine | undefined;
  try {
    engine = await byteEngine();
    // Problems found in JavaScript name their place and never reach XGrammar.
    const bad = { type: 'object', properties: { age: { type: 'integer', minimum: 9, maximum: 1 } } };
    await assert.rejects(engine.compile({ type: 'json_schema', schema: bad }), {
      name: 'GrammarError',
      field: 'grammar.schema.properties.age.minimum',
    });
    const json = await engine.compile({ type: 'json' });
    const early = await engine.createMatcher(json);
    await engine.step([{ matcher: early }]);
    for (let i = 0; i < 40; i++) {
      // Valid in JavaScript, refused by XGrammar's regex parser ("{,n}" has no lower bound).
      const schema = { type: 'object', properties: { code: { type: 'string', pattern: `a{,${i + 1}}` } } };
      await assert.rejects(engine.compile({ type: 'json_schema', schema }), (e: unknown) => {
        assert.ok(e instanceof GrammarError, String(e));
        assert.equal(e.field, 'grammar.schema');
        assert.match(e.message, /Invalid repetition count/);
        return true;
      });
    }
    // Refusals retire workers (4 each); a matcher of the first one is still served until it is released.
    assert.ok(engine.stats().workersStarted >= 10, JSON.stringify(engine.stats()));
    let r = (await engine.step([{ matcher: early, accept: bytes('{')[0] }]))[0];
    assert.equal(r.failure, undefined);
    assert.ok(r.accepted);
    const late = await engine.createMatcher(json);
    for (const byte of bytes('{"a": [1, 2]}')) {
      [r] = await engine.step([{ matcher: late, accept: byte }]);
      assert.ok(r.accepted);
    }
    [r] = await engine.step([{ matcher: late, accept: 256 }]);
    assert.ok(r.terminated);
    const alive = engine.stats().workersAlive;
    engine.release(early);
    engine.release(late);
    assert.equal(engine.stats().workersAlive, alive - 1, 'the retired worker ends with its last matcher');
  } finally {
    await engine?.close();
  }
});

it('matchers outlive their grammar leaving the worker cache, and a later request recompiles it', async () => {
  let engine: GrammarEngine | undefined;
  try {
    engine = await byteEngine();
    const first = await engine.compile({ type: 'json_schema', schema: { type: 'array', items: { type: 'integer' } } });
    const m = await engine.createMatcher(first);
    await engine.step([{ matcher: m }]);
    // The worker keeps 16 compiled grammars: 20 more push the first one out.
    for (let i = 0; i < 20; i++)
      await engine.compile({
        type: 'json_schema',
        schema: { type: 'object', properties: { [`k${i}`]: { type: 'string' } } },
      });
    let r = (await engine.step([{ matcher: m }]))[0];
    for (const byte of bytes('[1, 22]')) [r] = await engine.step([{ matcher: m, accept: byte }]);
    assert.ok(r.accepted);
    [r] = await engine.step([{ matcher: m, accept: 256 }]);
    assert.ok(r.terminated);
    const again = await engine.createMatcher(first);
    [r] = await engine.step([{ matcher: again }]);
    assert.ok(r.mask && isAllowed(r.mask, bytes('[')[0]) && !isAllowed(r.mask, bytes('{')[0]));
  } finally {
    await engine?.close();
  }
});
