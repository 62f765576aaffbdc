/**
 * The XGrammar worker thread: owns one wasm instance (TokenizerInfo, compiler, compiled grammars, matchers) and
 * answers protocol.ts requests one at a time. It lives in a thread so that a compile (50 ms to seconds, blocking)
 * never blocks the engine's main thread, and so that a hung or broken instance can be terminated and replaced. (A
 * step still waits for a compile already running here: one thread, one wasm instance.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as XG from '@mlc-ai/web-xgrammar';
import type { CompilePlan, WorkerInit, WorkerReply, WorkerRequest } from './protocol.ts';
import { STEP_ACCEPTED, STEP_MASKED, STEP_TERMINATED } from './protocol.ts';
import { WhitespaceGuard } from './whitespace-guard.ts';
import { loadXGrammar, type XGrammar } from './xgrammar-loader.ts';

/**
 * Compiled grammars kept in this instance (their matchers keep their own reference when evicted). A compiled grammar
 * of a 128k-token vocabulary can hold tens to hundreds of MB of the 2 GB wasm memory.
 */
const COMPILED_CACHE = 16;

const port = parentPort!;
const init = workerData as WorkerInit;

// XGrammar prints its C++ messages (the failed check behind an "Aborted()") through console.log/error, bound when
// the wasm module starts; route them here so a failure can report its reason instead of writing to the server's log.
let captured: string[] | null = null;
const forward = { log: console.log, error: console.error };
console.log = (...args: unknown[]) => (captured ? captured.push(args.join(' ')) : forward.log(...args));
console.error = (...args: unknown[]) => (captured ? captured.push(args.join(' ')) : forward.error(...args));

let xg: XGrammar;
try {
  xg = loadXGrammar();
} catch (e) {
  port.postMessage({ type: 'unavailable', message: (e as Error).message } satisfies WorkerReply);
  process.exit(0);
}

const words = Math.ceil(init.logitsWidth / 32);
const t0 = performance.now();
const info = await xg.TokenizerInfo.createTokenizerInfo(
  init.vocab,
  init.vocabType,
  false,
  init.logitsWidth,
  init.stopTokenIds,
);
const tokenizerInfoMs = performance.now() - t0;
// The compiler's own cache is unbounded; this thread keeps a bounded one instead.
const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, false);
const compiled = new Map<string, XG.CompiledGrammar>();
/** Each matcher, with the whitespace characters it accepted in a row (see whitespace-guard.ts). */
const matchers = new Map<number, { matcher: XG.GrammarMatcher; whitespace: number }>();
const guard = new WhitespaceGuard(init.vocab, init.vocabType, words);
/** The mask of a state that allows any text: a mask equal to it constrains nothing, and the engine gets null. */
const freeMask = await (async () => {
  const grammar = await compiler.compileStructuralTag({ type: 'structural_tag', format: { type: 'any_text' } });
  const matcher = await xg.GrammarMatcher.createGrammarMatcher(grammar, init.stopTokenIds);
  const mask = new Uint32Array((await matcher.getNextTokenBitmask()).buffer);
  matcher.dispose();
  grammar.dispose();
  return mask;
})();

async function compile(key: string, plan: CompilePlan): Promise<XG.CompiledGrammar> {
  const hit = compiled.get(key);
  if (hit) {
    compiled.delete(key); // re-insert: Map order is the LRU order
    compiled.set(key, hit);
    return hit;
  }
  // JSON as one line with ", " and ": " (as tool arguments): XGrammar's any-whitespace JSON let random and weak models
  // spend their whole budget on blank lines between two keys (measured: 120 tokens, most of them "\n", and no value).
  const grammar =
    plan.kind === 'json_schema'
      ? await compiler.compileJSONSchema(plan.schema, false, -1, undefined, plan.strict)
      : await compiler.compileStructuralTag((await compactJson(JSON.parse(plan.tag))) as XG.StructuralTagLike);
  compiled.set(key, grammar);
  if (compiled.size > COMPILED_CACHE) {
    const [oldKey, old] = compiled.entries().next().value!;
    compiled.delete(oldKey);
    old.dispose();
  }
  return grammar;
}

/**
 * A structural tag's json_schema parts (tool arguments) as EBNF for single-line JSON with the separators ", " and
 * ": ", which is how chat templates write tool calls (tojson), so the model is held to the form it was trained on.
 * XGrammar would otherwise allow unbounded whitespace there; this is also the cheapest form to compile. Strict, as
 * XGrammar compiles the json_schema parts of a tag.
 */
async function compactJson(node: unknown): Promise<unknown> {
  if (Array.isArray(node)) return Promise.all(node.map(compactJson));
  if (typeof node !== 'object' || node === null) return node;
  const n = node as Record<string, unknown>;
  if (n.type === 'json_schema' && 'json_schema' in n) {
    const schema = JSON.stringify(n.json_schema);
    return { type: 'grammar', grammar: await xg.Testings._jsonSchemaToEBNF(schema, false, -1, undefined, true) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) out[k] = await compactJson(v);
  return out;
}

/** Runs `fn`, turning an XGrammar failure (an abort, or a thrown C++ exception pointer) into a `failed` reply. */
async function guarded(fn: () => Promise<WorkerReply>): Promise<WorkerReply> {
  captured = [];
  try {
    return await fn();
  } catch (e) {
    const lines = captured;
    const fatal = lines.find((l) => l.includes('[FATAL]') || l.includes('Check failed'));
    // "[FATAL] /path/to/json_schema_converter.cc:902: Unsupported type "foo"" -> "Unsupported type "foo""
    // A thrown number is a C++ exception whose message this build does not expose.
    const said = lines
      .filter((l) => !l.startsWith('Aborted('))
      .slice(-3)
      .join('; ');
    const detail =
      fatal?.replace(/^.*?\[FATAL\]\s*\S+:\d+:\s*/, '') ||
      said ||
      (e instanceof Error ? e.message : 'XGrammar refused it without a message');
    const aborted = e instanceof Error && /Aborted/.test(e.message);
    return { type: 'failed', detail, aborted, silent: aborted && !fatal && !said };
  } finally {
    captured = null;
  }
}

async function step(ids: Int32Array, accepts: Int32Array): Promise<WorkerReply> {
  const n = ids.length;
  const flags = new Uint8Array(n);
  const slots = new Int32Array(n).fill(-1);
  const found: Uint32Array[] = [];
  for (let i = 0; i < n; i++) {
    const entry = matchers.get(ids[i]);
    if (!entry) throw new Error(`no matcher ${ids[i]} in this worker`);
    const { matcher } = entry;
    let accepted = true;
    if (accepts[i] >= 0) {
      accepted = !matcher.isTerminated() && matcher.acceptToken(accepts[i]);
      if (accepted) entry.whitespace = guard.next(entry.whitespace, accepts[i]);
    }
    let f = accepted ? STEP_ACCEPTED : 0;
    // Asking a terminated matcher for a mask aborts the wasm instance: the engine writes the stop-only mask instead.
    if (matcher.isTerminated()) f |= STEP_TERMINATED;
    else {
      const mask = new Uint32Array((await matcher.getNextTokenBitmask()).buffer);
      if (!sameWords(mask, freeMask)) {
        guard.apply(mask, entry.whitespace);
        f |= STEP_MASKED;
        slots[i] = found.length;
        found.push(mask);
      }
    }
    flags[i] = f;
  }
  const masks = new Uint32Array(found.length * words);
  for (const [slot, m] of found.entries()) masks.set(m, slot * words);
  return { type: 'stepped', flags, slots, masks };
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function handle(msg: WorkerRequest): Promise<WorkerReply | null> {
  switch (msg.type) {
    case 'compile':
      return guarded(async () => {
        const t = performance.now();
        await compile(msg.key, msg.plan);
        return { type: 'compiled', ms: performance.now() - t };
      });
    case 'createMatcher':
      return guarded(async () => {
        const grammar = await compile(msg.key, msg.plan);
        const matcher = await xg.GrammarMatcher.createGrammarMatcher(grammar, init.stopTokenIds);
        matchers.set(msg.matcherId, { matcher, whitespace: 0 });
        return { type: 'matcherCreated' };
      });
    case 'step':
      return guarded(() => step(msg.matcherIds, msg.accepts));
    case 'release':
      matchers.get(msg.matcherId)?.matcher.dispose();
      matchers.delete(msg.matcherId);
      return null;
    case 'hang': {
      const until = performance.now() + msg.ms;
      while (performance.now() < until) {
        // busy: the watchdog must terminate a thread that never yields
      }
      return null;
    }
  }
}

// One request at a time, in order, even across the awaits inside a handler.
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: WorkerRequest) => {
  queue = queue.then(async () => {
    const reply = await handle(msg);
    if (!reply) return;
    if (reply.type === 'stepped') port.postMessage(reply, [reply.masks.buffer as ArrayBuffer]);
    else port.postMessage(reply);
  });
});
port.postMessage({ type: 'ready', tokenizerInfoMs } satisfies WorkerReply);
