/**
 * Grammar-constrained decoding, CPU side: compiles a request's GrammarSpec with XGrammar and, once per decode step,
 * advances every grammar request of the batch by its sampled token and returns the bitmask of the tokens allowed
 * next (applied on the GPU by the logit-mask kernel). XGrammar runs in a worker thread (worker-thread.ts).
 *
 * Workers: one current worker takes new grammars and matchers. A request that outlives its timeout (a hung compile
 * or step) terminates that worker: the requests whose matchers lived there fail with GrammarWorkerError, and the
 * next request starts a fresh worker (compiled grammars are recompiled there lazily). A worker whose XGrammar
 * refused RETIRE_AFTER_FAILED_COMPILES schemas (each abort leaks part of the wasm instance; ~23 break it) retires:
 * it keeps serving its matchers until they are released, while a fresh worker takes everything new.
 *
 * Masks: ceil(logitsWidth / 32) u32 words, bit (id & 31) of word (id >> 5) set = token allowed; null = everything
 * allowed (free text). Masks are read-only views (the stop-only mask is shared by every terminated matcher).
 */
import type { GrammarSpec } from '../serving/types.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { planGrammar } from './compile-plan.ts';
import { GrammarError, GrammarWorkerError } from './errors.ts';
import {
  type CompilePlan,
  STEP_ACCEPTED,
  STEP_MASKED,
  STEP_TERMINATED,
  type VocabType,
  type WorkerInit,
  type WorkerReply,
  type WorkerRequest,
} from './protocol.ts';
import { tokenStrings, vocabTypeOfDecoder } from './tokenizer-vocab.ts';
import { NotRunError, WorkerClient } from './worker-client.ts';

export interface GrammarEngineOptions {
  /** Token strings by id as tokenizer.json spells them ('' for holes). */
  vocab: readonly string[];
  vocabType: VocabType;
  /** Columns of the model's logits (>= 1); ids at or past the vocabulary's end are never allowed. */
  logitsWidth: number;
  /** Tokens that end a generation; a grammar that is complete allows these. At least one. */
  stopTokenIds: readonly number[];
  /** Longest a step (all matchers of the batch) may take before its worker is replaced. Default 5,000 ms. */
  stepTimeoutMs?: number;
  /** Longest one compile may take before its worker is replaced and the grammar refused. Default 15,000 ms. */
  compileTimeoutMs?: number;
}

export interface GrammarStepEntry {
  matcher: GrammarMatcher;
  /** The token sampled for this matcher at the previous step; left out at the first step. */
  accept?: number;
}

export interface GrammarStepResult {
  /** The token was accepted (false: it broke the grammar, and the matcher's state is unchanged). */
  accepted: boolean;
  /** A stop token completed the grammar; `mask` then allows only the stop tokens. */
  terminated: boolean;
  mask: Uint32Array | null;
  /** The matcher's worker died: the request fails with this (accepted false, terminated true, stop-only mask). */
  failure?: GrammarWorkerError;
}

/** A compiled grammar, valid for the engine that made it (opaque; its compiled form lives in the worker). */
export class CompiledGrammar {
  /** @internal */
  constructor(
    readonly key: string,
    readonly type: GrammarSpec['type'],
    /** Milliseconds XGrammar took to compile it (0 when it came from the cache). */
    readonly compileMs: number,
    /** @internal */
    readonly plan: CompilePlan,
    /** @internal */
    readonly field: string,
  ) {}
}

/** One request's position in its grammar. */
export class GrammarMatcher {
  released = false;
  /** @internal */
  constructor(
    readonly id: number,
    readonly compiled: CompiledGrammar,
    /** @internal */
    readonly worker: WorkerClient,
  ) {}
}

type CompilingRequest = Extract<WorkerRequest, { type: 'compile' | 'createMatcher' }>;

const DEFAULT_STEP_TIMEOUT_MS = 5_000;
const DEFAULT_COMPILE_TIMEOUT_MS = 15_000;
/** Starting a worker builds TokenizerInfo (~0.3 s for 150k tokens); this bounds a start that never ends. */
const START_TIMEOUT_MS = 60_000;
const RETIRE_AFTER_FAILED_COMPILES = 4;
/** Compiled grammars (and refusals) remembered by spec hash. */
const CACHE_ENTRIES = 256;

export class GrammarEngine {
  private current: Promise<WorkerClient> | null = null;
  /** The worker `current` resolved to, once it has started. */
  private currentClient: WorkerClient | null = null;
  private readonly workers = new Set<WorkerClient>();
  private generation = 0;
  private nextMatcherId = 1;
  private closed = false;
  private readonly cache = new Map<string, Promise<CompiledGrammar>>();
  private readonly stopMask: Uint32Array;
  private readonly stepTimeoutMs: number;
  private readonly compileTimeoutMs: number;

  private constructor(
    private readonly init: WorkerInit,
    opts: GrammarEngineOptions,
  ) {
    this.stepTimeoutMs = opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    this.compileTimeoutMs = opts.compileTimeoutMs ?? DEFAULT_COMPILE_TIMEOUT_MS;
    this.stopMask = new Uint32Array(Math.ceil(init.logitsWidth / 32));
    for (const id of init.stopTokenIds) this.stopMask[id >>> 5] |= 1 << (id & 31);
  }

  /** Starts the first worker (TokenizerInfo is built there), so a missing XGrammar fails here. */
  static async create(opts: GrammarEngineOptions): Promise<GrammarEngine> {
    const { logitsWidth, stopTokenIds } = opts;
    if (!Number.isInteger(logitsWidth) || logitsWidth < 1)
      throw new RangeError(`logitsWidth must be a positive integer, found ${logitsWidth}`);
    const stops = [...new Set(stopTokenIds)];
    if (stops.length === 0 || stops.some((id) => !Number.isInteger(id) || id < 0 || id >= logitsWidth))
      throw new RangeError(`stopTokenIds must be one or more ids below logitsWidth (${logitsWidth}), found [${stops}]`);
    for (const [name, ms] of [
      ['stepTimeoutMs', opts.stepTimeoutMs],
      ['compileTimeoutMs', opts.compileTimeoutMs],
    ] as const)
      if (ms !== undefined && !(ms > 0)) throw new RangeError(`${name} must be > 0, found ${ms}`);
    // Tokens past the logits cannot be sampled; XGrammar wants a vocabulary no longer than its logits.
    const vocab = opts.vocab.slice(0, logitsWidth);
    const engine = new GrammarEngine({ vocab, vocabType: opts.vocabType, logitsWidth, stopTokenIds: stops }, opts);
    await engine.worker();
    return engine;
  }

  /**
   * The vocabulary of `tokenizer`, its byte encoding from the tokenizer's decoder (tokenizer.json's, or the one a GGUF
   * model's vocabulary implies): no file is read, so a model of any format gets the same grammar.
   */
  static async forTokenizer(
    tokenizer: Tokenizer,
    logitsWidth: number,
    stopTokenIds: readonly number[],
  ): Promise<GrammarEngine> {
    const vocabType = vocabTypeOfDecoder(tokenizer.decoder);
    return GrammarEngine.create({ vocab: tokenStrings(tokenizer), vocabType, logitsWidth, stopTokenIds });
  }

  /** Ceil(logitsWidth / 32): the u32 words of one mask. */
  get maskWords(): number {
    return this.stopMask.length;
  }

  /**
   * Checks and compiles `spec` (cached by a hash of it). Throws GrammarError naming the request field when the
   * grammar cannot be used, including when compiling it takes longer than the compile timeout.
   */
  compile(spec: GrammarSpec): Promise<CompiledGrammar> {
    let planned: ReturnType<typeof planGrammar>;
    try {
      this.assertOpen();
      planned = planGrammar(spec);
    } catch (e) {
      return Promise.reject(e);
    }
    const cached = this.cache.get(planned.key);
    if (cached) {
      this.cache.delete(planned.key);
      this.cache.set(planned.key, cached);
      return cached.then((c) => (c.compileMs === 0 ? c : new CompiledGrammar(c.key, c.type, 0, c.plan, c.field)));
    }
    const compiling = this.compileIn(planned.key, planned.plan, spec.type, planned.field);
    this.cache.set(planned.key, compiling);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    // A worker failure is not the grammar's fault: forget it so the next request tries again.
    compiling.catch((e) => {
      if (!(e instanceof GrammarError) && this.cache.get(planned.key) === compiling) this.cache.delete(planned.key);
    });
    return compiling;
  }

  async createMatcher(compiled: CompiledGrammar): Promise<GrammarMatcher> {
    this.assertOpen();
    const id = this.nextMatcherId++;
    const msg = { type: 'createMatcher', matcherId: id, key: compiled.key, plan: compiled.plan } as const;
    const { client } = await this.sendCompiling(msg, compiled.field);
    client.liveMatchers++;
    return new GrammarMatcher(id, compiled, client);
  }

  /**
   * For each entry: accept its token (if given), then the mask of the tokens allowed next. One round trip per
   * worker (normally one), however many entries. Entries whose worker died get `failure` instead.
   */
  async step(entries: readonly GrammarStepEntry[]): Promise<GrammarStepResult[]> {
    this.assertOpen();
    const results = new Array<GrammarStepResult>(entries.length);
    const groups = new Map<WorkerClient, number[]>();
    entries.forEach(({ matcher }, i) => {
      if (matcher.released) throw new Error(`grammar matcher ${matcher.id} was released`);
      const group = groups.get(matcher.worker);
      if (group) group.push(i);
      else groups.set(matcher.worker, [i]);
    });
    await Promise.all(
      [...groups].map(async ([client, indices]) => {
        const fail = (failure: GrammarWorkerError) => {
          for (const i of indices) results[i] = { accepted: false, terminated: true, mask: this.stopMask, failure };
        };
        if (client.failure) return fail(client.failure);
        const matcherIds = Int32Array.from(indices, (i) => entries[i].matcher.id);
        const accepts = Int32Array.from(indices, (i) => entries[i].accept ?? -1);
        let reply: WorkerReply;
        try {
          reply = await client.request({ type: 'step', matcherIds, accepts }, this.stepTimeoutMs, true);
        } catch (e) {
          return fail(e as GrammarWorkerError);
        }
        this.endIfRetired(client);
        if (reply.type !== 'stepped') {
          // XGrammar failed inside a step: its matchers' states are unknown, so the worker goes.
          client.kill(`a step failed: ${reply.type === 'failed' ? reply.detail : reply.type}`);
          return fail(client.failure!);
        }
        const words = this.stopMask.length;
        indices.forEach((i, k) => {
          const f = reply.flags[k];
          const terminated = (f & STEP_TERMINATED) !== 0;
          const slot = reply.slots[k];
          const mask = terminated
            ? this.stopMask
            : f & STEP_MASKED
              ? reply.masks.subarray(slot * words, (slot + 1) * words)
              : null;
          results[i] = { accepted: (f & STEP_ACCEPTED) !== 0, terminated, mask };
        });
      }),
    );
    return results;
  }

  release(matcher: GrammarMatcher): void {
    if (matcher.released) return;
    matcher.released = true;
    const client = matcher.worker;
    if (client.failure) return;
    client.post({ type: 'release', matcherId: matcher.id });
    client.liveMatchers--;
    this.endIfRetired(client);
  }

  /** Ends every worker; requests in flight fail with GrammarWorkerError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const client of this.workers) client.kill('the grammar engine was closed');
    this.workers.clear();
    this.current = null;
  }

  /** For tests and stats: workers started so far, and the ones alive now. */
  stats(): { workersStarted: number; workersAlive: number; tokenizerInfoMs: number } {
    const alive = [...this.workers].filter((w) => !w.failure);
    return {
      workersStarted: this.generation,
      workersAlive: alive.length,
      tokenizerInfoMs: alive.at(-1)?.tokenizerInfoMs ?? 0,
    };
  }

  /** Test hook for the watchdog: blocks the current worker's thread for `ms`, as a runaway XGrammar call would. */
  async debugHangWorker(ms: number): Promise<void> {
    const client = await this.worker();
    client.post({ type: 'hang', ms });
  }

  private async compileIn(key: string, plan: CompilePlan, type: GrammarSpec['type'], field: string) {
    const { client, reply } = await this.sendCompiling({ type: 'compile', key, plan }, field);
    this.endIfRetired(client);
    if (reply.type !== 'compiled') throw new Error(`grammar worker answered ${reply.type} to compile`);
    return new CompiledGrammar(key, type, reply.ms, plan, field);
  }

  /**
   * Sends a request that may compile (compile, createMatcher) and maps its failures: XGrammar refused the grammar,
   * or the worker hung or crashed on it -> GrammarError; a silent abort (most likely the worker's memory is full)
   * retires the worker and tries once more on a fresh one.
   */
  private async sendCompiling(msg: CompilingRequest, field: string) {
    for (let attempt = 0; ; attempt++) {
      let sent: Awaited<ReturnType<GrammarEngine['send']>>;
      try {
        sent = await this.send(msg, this.compileTimeoutMs);
      } catch (e) {
        if (e instanceof GrammarWorkerError && !(e instanceof NotRunError) && !this.closed)
          throw new GrammarError(field, `could not be compiled within ${this.compileTimeoutMs} ms (${e.message})`);
        throw e;
      }
      const { client, reply } = sent;
      if (reply.type !== 'failed') return sent;
      if (reply.silent) this.retire(client);
      else if (++client.failedCompiles >= RETIRE_AFTER_FAILED_COMPILES) this.retire(client);
      if (!reply.silent || attempt > 0) throw new GrammarError(field, `could not be compiled: ${reply.detail}`);
    }
  }

  /** Sends to the current worker; a request that never ran because its worker died goes once to the next one. */
  private async send(msg: Parameters<WorkerClient['request']>[0], timeoutMs: number) {
    for (let attempt = 0; ; attempt++) {
      const client = await this.worker();
      try {
        // The caller ends the worker if it retired meanwhile, once it has counted the matcher it may have made.
        return { client, reply: await client.request(msg, timeoutMs) };
      } catch (e) {
        if (!(e instanceof NotRunError) || attempt > 0 || this.closed) throw e;
      }
    }
  }

  /** The current worker, started if there is none (or it died or retired). */
  private worker(): Promise<WorkerClient> {
    this.assertOpen();
    if (this.current) return this.current;
    const generation = ++this.generation;
    const starting = WorkerClient.start(this.init, generation, START_TIMEOUT_MS).then((client) => {
      if (this.closed) {
        client.kill('the grammar engine was closed');
        throw new GrammarWorkerError('the grammar engine was closed');
      }
      this.workers.add(client);
      if (this.current === starting) this.currentClient = client;
      client.onDeath = () => {
        this.workers.delete(client);
        if (this.currentClient !== client) return;
        this.current = null;
        this.currentClient = null;
        this.warmReplacement();
      };
      return client;
    });
    this.current = starting;
    // A worker that cannot start is not kept: the next request tries a fresh one.
    starting.catch(() => {
      if (this.current === starting) this.current = null;
    });
    return starting;
  }

  private retire(client: WorkerClient): void {
    if (client.retiring) return;
    client.retiring = true;
    if (this.currentClient === client) {
      this.current = null;
      this.currentClient = null;
      this.warmReplacement();
    }
    this.endIfRetired(client);
  }

  /** Starts the next worker now rather than at the next request (a start takes ~1-2 s for 150k tokens). */
  private warmReplacement(): void {
    if (this.closed) return;
    this.worker().catch(() => {}); // a start that fails is retried by the next request, which reports it
  }

  private endIfRetired(client: WorkerClient): void {
    if (client.retiring && client.liveMatchers === 0 && client.idle) client.kill('retired');
  }

  private assertOpen(): void {
    if (this.closed) throw new GrammarWorkerError('the grammar engine was closed');
  }
}
