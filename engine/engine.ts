/**
 * The engine's public face: a loaded model, the paged KV pool, the scheduler and the model runner behind
 * `generate(request, signal): AsyncIterable<EngineEvent>` and `stats()`. Requests arrive at any time; one step loop
 * serves them all (continuous batching). Typed requests in, events out: no JSON, no HTTP in here.
 */
import {
  DEFAULT_PAGE_SIZE,
  type EngineConfig,
  EngineConfigError,
  type EngineConfigInput,
  engineConfig,
} from './engine-config.ts';
import { randomSeed, SamplingRng } from './generation/rng.ts';
import type { SamplingParams } from './generation/sampling-params.ts';
import { StopStringMatcher } from './generation/stop-strings.ts';
import type { Gpu } from './gpu/gpu.ts';
import type { Tensor } from './gpu/tensor.ts';
import { KVCacheManager } from './kv/kv-cache-manager.ts';
import { type KvSizing, KvSizingError, sizeKvPool } from './kv/kv-sizing.ts';
import type { LoadedModel } from './model/load-model.ts';
import { mergePlasConfig, type PlasConfig } from './plas/config.ts';
import { describeGate, gateBlockSize, loadPlasGateWeights, uploadGateWeights } from './plas/gate-weights.ts';
import { type BlockSummary, PlasStats } from './plas/stats.ts';
import { ModelRunner, type RunnerRequest } from './runner/model-runner.ts';
import { PagedAttentionBackend } from './runner/paged-backend.ts';
import { PagedKvPool } from './runner/paged-kv-pool.ts';
import { PlasAttentionBackend } from './runner/plas-backend.ts';
import type { RequestUpdate } from './scheduler/output.ts';
import { type FinishReason, Request } from './scheduler/request.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { StreamDecoder } from './tokenizer/stream-decoder.ts';
import { AsyncQueue } from './util/async-queue.ts';

export interface GenerateRequest {
  /** Token ids of the prompt (the caller applies the chat template and tokenizes). */
  promptTokenIds: readonly number[];
  sampling: SamplingParams;
  /** Defaults to a fresh id. */
  id?: string;
}

export interface RequestTimings {
  /** From arrival to the first generated token. */
  timeToFirstTokenMs: number;
  /** Mean time between output tokens after the first. */
  timePerOutputTokenMs: number;
  totalMs: number;
}

export type EngineEvent =
  | { type: 'token'; ids: number[]; text: string }
  | {
      type: 'done';
      finishReason: FinishReason;
      usage: { promptTokens: number; completionTokens: number; cachedPromptTokens: number };
      timings: RequestTimings;
    };

export interface EngineStats {
  running: number;
  waiting: number;
  steps: number;
  preemptions: number;
  kv: {
    numPages: number;
    pageSize: number;
    freePages: number;
    usage: number;
    tokensThatFit: number;
    /** GPU bytes of the pool, and how many buffers (one K and one V per layer) it is sharded into. */
    bytes: number;
    buffers: number;
  };
  prefixCache: { queriedTokens: number; hitTokens: number };
  generatedTokens: number;
  attention: {
    backend: 'plas' | 'dense';
    /** The PLAS config in force (also when dense, so the app can show what switching would use). */
    plas: PlasConfig;
    /** Which layers use a learned gate, e.g. "mean pooling on every layer". */
    gate: string;
    /** Sampled per-layer and per-request block counts, density and recall (PLAS only). */
    layers: [number, BlockSummary][];
    requests: [string, BlockSummary][];
  };
}

interface Live extends RunnerRequest {
  request: Request<SamplingParams>;
  events: AsyncQueue<EngineEvent>;
  decoder: StreamDecoder;
  stops: StopStringMatcher;
  arrivedAt: number;
  firstTokenAt: number;
  lastTokenAt: number;
}

let nextId = 0;

export class Engine {
  private readonly scheduler: Scheduler<SamplingParams>;
  private readonly kv: KVCacheManager;
  private readonly runner: ModelRunner;
  private readonly live = new Map<string, Live>();
  private loop: Promise<void> | null = null;
  private generatedTokens = 0;
  private closed = false;
  private plas: PlasConfig;
  private readonly plasStats: PlasStats;

  private constructor(
    readonly gpu: Gpu,
    readonly model: LoadedModel,
    readonly config: EngineConfig,
    private readonly sizing: KvSizing,
    private readonly pool: PagedKvPool,
    private readonly gates: (Tensor | undefined)[],
    private readonly gateDescription: string,
  ) {
    this.plas = config.attention.plas;
    this.plasStats = new PlasStats({ sampleEvery: config.attention.statsSampleEvery });
    this.kv = new KVCacheManager({
      numPages: pool.options.numPages,
      pageSize: pool.options.pageSize,
      enablePrefixCaching: config.cache.enablePrefixCaching,
      hashSalt: model.dir,
    });
    this.scheduler = new Scheduler(config.scheduler, this.kv);
    const pageSize = pool.options.pageSize;
    this.runner = new ModelRunner(gpu, model, pool, (_step, upload, host, requestIds) => {
      const batch = { seqs: upload.seqs, blockTables: upload.blockTables, host, pageSize, requestIds };
      if (config.attention.backend === 'dense') return new PagedAttentionBackend(pool.layers, batch, upload.slots);
      // The config is read once per step: a live update applies from the next step on.
      return new PlasAttentionBackend(pool.layers, batch, upload.slots, this.plas, this.gates, this.plasStats);
    });
  }

  static async create(gpu: Gpu, model: LoadedModel, input: EngineConfigInput = {}): Promise<Engine> {
    // A learned gate fixes the PLAS block size it was trained for, unless the caller chose one (and pages shrink to
    // the block when they would not divide it and the caller left the page size alone).
    const gateBlocks = input.attention?.plas?.plas_block_size === undefined ? await gateBlockSize(model.dir) : null;
    if (gateBlocks !== null) {
      const plas = { ...input.attention?.plas, plas_block_size: gateBlocks };
      const pageSize = input.cache?.pageSize ?? Math.min(DEFAULT_PAGE_SIZE, gateBlocks);
      input = { ...input, cache: { ...input.cache, pageSize }, attention: { ...input.attention, plas } };
    }
    const config = engineConfig(input);
    const { pageSize } = config.cache;
    const d = model.dims;
    let sizing: KvSizing;
    try {
      sizing = sizeKvPool({
        numLayers: d.numLayers,
        kvHeads: d.kvHeads,
        headDim: d.headDim,
        pageSize,
        maxBindingBytes: Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize),
        budgetBytes: config.cache.memoryBytes,
        numPages: config.cache.numPages,
        // Never more pages than max_num_seqs full-length sequences could use.
        maxUsefulPages: Math.ceil((config.scheduler.maxNumSeqs * model.config.maxPositionEmbeddings) / pageSize),
      });
    } catch (error) {
      if (error instanceof KvSizingError) throw new EngineConfigError(error.message);
      throw error;
    }
    const plasOn = config.attention.backend === 'plas';
    const shape = {
      numLayers: model.dims.numLayers,
      kvHeads: model.dims.kvHeads,
      headDim: model.dims.headDim,
      blockSize: config.attention.plas.plas_block_size,
    };
    // gate 'mean' does not read the folder's gate at all: a gate trained for another block size must not stop it.
    const askedMean = config.attention.gate === 'mean';
    const gateWeights = plasOn && !askedMean ? await loadPlasGateWeights(model.dir, shape) : null;
    const gates = gateWeights ? uploadGateWeights(gpu, gateWeights, shape) : [];
    const pool = new PagedKvPool(gpu, model.dims, { numPages: sizing.numPages, pageSize, keySums: plasOn });
    const gate = !plasOn
      ? 'not loaded (dense attention)'
      : gateWeights
        ? describeGate(gateWeights)
        : `mean pooling on all ${model.dims.numLayers} layers (asked for; the folder's gate is not read)`;
    return new Engine(gpu, model, config, sizing, pool, gates, gate);
  }

  /** The PLAS config in force. */
  get plasConfig(): PlasConfig {
    return this.plas;
  }

  /**
   * Change PLAS ranges and limits while requests run: validated as a whole (nothing changes when it throws), in force
   * from the next scheduled step, no reload. The block size is fixed at load.
   */
  setPlasConfig(partial: Partial<PlasConfig>): PlasConfig {
    this.plas = mergePlasConfig(this.plas, partial, this.pool.options.pageSize);
    return this.plas;
  }

  /** Stream the generation of one request. Aborting `signal` ends it at the next step and frees its pages. */
  generate(input: GenerateRequest, signal?: AbortSignal): AsyncIterable<EngineEvent> {
    if (this.closed) throw new Error('the engine is closed');
    const p = input.sampling;
    const contextRoom = this.model.config.maxPositionEmbeddings - input.promptTokenIds.length;
    if (contextRoom < 1) {
      throw new EngineConfigError(
        `the prompt has ${input.promptTokenIds.length} tokens; the model's context is ${this.model.config.maxPositionEmbeddings}`,
      );
    }
    const request = new Request<SamplingParams>({
      id: input.id ?? `req-${nextId++}`,
      promptTokenIds: input.promptTokenIds,
      maxTokens: Math.min(p.maxTokens, contextRoom),
      eosTokenIds: this.model.config.eosTokenIds,
      stopTokenIds: p.stopTokenIds,
      ignoreEos: p.ignoreEos,
      sampling: p,
    });
    this.scheduler.addRequest(request); // throws RequestTooLargeError when it could never fit
    const events = new AsyncQueue<EngineEvent>();
    const now = performance.now();
    this.live.set(request.id, {
      request,
      events,
      sampling: p,
      rng: new SamplingRng(p.seed ?? randomSeed()),
      promptTokenIds: request.promptTokenIds,
      outputTokenIds: request.outputTokenIds,
      decoder: new StreamDecoder(this.model.tokenizer, { skipSpecialTokens: true }),
      stops: new StopStringMatcher(p.stop),
      arrivedAt: now,
      firstTokenAt: 0,
      lastTokenAt: 0,
    });
    signal?.addEventListener('abort', () => this.end(request.id, 'abort'), { once: true });
    if (signal?.aborted) this.end(request.id, 'abort');
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
    return events;
  }

  private async run(): Promise<void> {
    try {
      while (this.scheduler.hasUnfinishedRequests()) {
        const output = this.scheduler.schedule();
        if (output.scheduled.length === 0) {
          // Nothing fits right now, and nothing runs that could free pages: cannot happen with addRequest's size
          // check, but never spin.
          throw new Error('the scheduler made no progress: no request fits the KV pool');
        }
        const sampled = await this.runner.execute(output, this.live);
        for (const update of this.scheduler.updateFromOutput(output, sampled)) this.deliver(update);
      }
    } catch (error) {
      for (const id of [...this.live.keys()]) {
        this.scheduler.abort(id);
        this.live.get(id)?.events.fail(error as Error);
        this.live.delete(id);
      }
    }
  }

  private deliver(update: RequestUpdate): void {
    const live = this.live.get(update.requestId);
    if (!live) return;
    const now = performance.now();
    if (live.firstTokenAt === 0 && update.newTokenIds.length > 0) live.firstTokenAt = now;
    live.lastTokenAt = now;
    this.generatedTokens += update.newTokenIds.length;
    let text = '';
    let stoppedByString = false;
    for (const id of update.newTokenIds) {
      if (update.stopTokenId === id) break; // EOS and stop tokens are not shown
      const { emit, stopped } = live.stops.push(live.decoder.push(id));
      text += emit;
      if (stopped !== null) {
        stoppedByString = true;
        break;
      }
    }
    const ids = update.newTokenIds.filter((id) => id !== update.stopTokenId);
    if (ids.length > 0 || text) live.events.push({ type: 'token', ids, text });
    if (stoppedByString) this.end(update.requestId, 'stop');
    else if (update.finishReason) this.end(update.requestId, update.finishReason);
  }

  /** Finish a request: flush held text (unless a stop string ended it), emit `done`, free its pages. */
  private end(id: string, reason: FinishReason): void {
    const live = this.live.get(id);
    if (!live) return;
    this.live.delete(id);
    this.scheduler.finish(id, reason);
    if (reason === 'length' || reason === 'abort') {
      const rest = live.stops.push(live.decoder.flush()).emit + live.stops.flush();
      if (rest) live.events.push({ type: 'token', ids: [], text: rest });
    }
    const end = performance.now();
    const n = live.request.outputTokenIds.length;
    live.events.push({
      type: 'done',
      finishReason: reason,
      usage: {
        promptTokens: live.request.promptTokenIds.length,
        completionTokens: n,
        cachedPromptTokens: live.request.numCachedTokens,
      },
      timings: {
        timeToFirstTokenMs: live.firstTokenAt ? live.firstTokenAt - live.arrivedAt : 0,
        timePerOutputTokenMs: n > 1 ? (live.lastTokenAt - live.firstTokenAt) / (n - 1) : 0,
        totalMs: end - live.arrivedAt,
      },
    });
    live.events.close();
  }

  /** stats() once the statistics of every step run so far have arrived (PLAS counts are read back asynchronously). */
  async settledStats(): Promise<EngineStats> {
    await this.plasStats.settled();
    return this.stats();
  }

  stats(): EngineStats {
    const s = this.scheduler.stats();
    const kv = this.kv.stats();
    return {
      running: s.numRunning,
      waiting: s.numWaiting,
      steps: s.step,
      preemptions: s.numPreemptions,
      kv: {
        numPages: kv.numPages,
        pageSize: kv.pageSize,
        freePages: kv.numFreePages,
        usage: kv.usage,
        tokensThatFit: this.kv.tokensThatFit(),
        bytes: this.sizing.totalBytes,
        buffers: this.sizing.buffers,
      },
      prefixCache: { queriedTokens: kv.prefixCacheQueries, hitTokens: kv.prefixCacheHits },
      generatedTokens: this.generatedTokens,
      attention: {
        backend: this.config.attention.backend,
        plas: this.plas,
        gate: this.gateDescription,
        layers: [...this.plasStats.layers()],
        requests: [...this.plasStats.requests()],
      },
    };
  }

  /** Wait for the requests in flight, then free the KV pool. */
  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
    this.pool.destroy();
    for (const g of this.gates) g?.buffer.destroy();
  }
}
