/**
 * The engine's public face: a loaded model, the paged KV pool, the scheduler and the model runner behind
 * `generate(request, signal): AsyncIterable<EngineEvent>` and `stats()`. Requests arrive at any time; one step loop
 * serves them all (continuous batching). Typed requests in, events out: no JSON, no HTTP, no environment in here.
 *
 * One step: schedule -> token masks (grammar, min_tokens) -> the runner computes every scheduled token in one command
 * buffer and samples -> the scheduler appends the tokens and applies stop tokens and lengths -> each choice turns its
 * tokens into text and events (serving/choice.ts), apart from the loop.
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
import type { Gpu } from './gpu/gpu.ts';
import type { Tensor } from './gpu/tensor.ts';
import { KVCacheManager } from './kv/kv-cache-manager.ts';
import type { KvSizing } from './kv/kv-sizing.ts';
import type { KvDType } from './kv/paged-layout.ts';
import { type LoadedModel, loadModel } from './model/load-model.ts';
import { contextLengthOf, planKvPool } from './model/memory-plan.ts';
import type { LoadProgress } from './model/upload-weights.ts';
import { type AttentionBackend, mergePlasConfig, type PlasConfig } from './plas/config.ts';
import {
  describeGate,
  gateBlockSize,
  gateFileOf,
  loadPlasGateWeights,
  uploadGateWeights,
} from './plas/gate-weights.ts';
import { withModelPlasConfig } from './plas/model-plas-config.ts';
import { type BlockSummary, PlasStats } from './plas/stats.ts';
import { DenseKeySumBackend } from './runner/dense-keysum-backend.ts';
import { ModelRunner, type RunnerRequest, type StepResult } from './runner/model-runner.ts';
import { PagedAttentionBackend } from './runner/paged-backend.ts';
import { PagedKvPool } from './runner/paged-kv-pool.ts';
import { PlasAttentionBackend } from './runner/plas-backend.ts';
import type { SchedulerOutput } from './scheduler/output.ts';
import { type FinishReason, Request } from './scheduler/request.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { Choice } from './serving/choice.ts';
import { EngineClosedError, GpuDeviceLostError } from './serving/errors.ts';
import { EventStream } from './serving/event-stream.ts';
import { GrammarSupport } from './serving/grammar-support.ts';
import { type ResolvedRequest, resolveRequest } from './serving/resolve-request.ts';
import { tokenMasks } from './serving/token-masks.ts';
import type { AttentionReport, EngineEvent, GenerateRequest } from './serving/types.ts';
import { StreamDecoder } from './tokenizer/stream-decoder.ts';

export type { AttentionReport, EngineEvent, GenerateRequest, RequestTimings } from './serving/types.ts';

export interface EngineStats {
  running: number;
  waiting: number;
  /** Requests held because their reader is slow (they keep their pages). */
  held: number;
  steps: number;
  preemptions: number;
  /** Tokens computed by forward passes (prompt and output; prefix-cache hits are not computed). */
  computedTokens: number;
  kv: {
    numPages: number;
    pageSize: number;
    freePages: number;
    usage: number;
    tokensThatFit: number;
    /** Element type of K and V (cache.dtype): f16 holds twice the tokens of f32 in the same bytes. */
    dtype: KvDType;
    /** GPU bytes of the pool, and how many buffers (one K and one V per layer) it is sharded into. */
    bytes: number;
    buffers: number;
    /** GPU bytes of the PLAS key sums (0 when the engine was created without PLAS). */
    keySumBytes: number;
  };
  prefixCache: { queriedTokens: number; hitTokens: number };
  generatedTokens: number;
  /** The model's sampling defaults (generation_config.json) applied to fields a request leaves out. */
  samplingDefaults: LoadedModel['generation'];
  attention: {
    /** What a request that does not choose runs. */
    backend: 'plas' | 'dense';
    /** Whether requests may run PLAS (key sums kept). */
    plasAvailable: boolean;
    /** The live PLAS config (also when dense, so the app can show what switching would use). */
    plas: PlasConfig;
    /** Which layers use a learned gate, e.g. "mean pooling on every layer". */
    gate: string;
    /** Sampled per-layer block counts and density; per running request too (a finished one's is in its done event). */
    layers: [number, BlockSummary][];
    requests: [string, BlockSummary][];
  };
}

/** The choices of one generate() call, sharing one event stream. */
interface Job {
  stream: EventStream<EngineEvent>;
  choices: Choice[];
  open: number;
  detach: () => void;
}

let nextId = 0;

export class Engine {
  private readonly scheduler: Scheduler<SamplingParams>;
  private readonly kv: KVCacheManager;
  private readonly runner: ModelRunner;
  private readonly choices = new Map<string, Choice>();
  private readonly jobOf = new Map<Choice, Job>();
  private readonly grammar: GrammarSupport;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private generatedTokens = 0;
  private computedTokens = 0;
  private closed = false;
  private lost: GpuDeviceLostError | null = null;
  private plas: PlasConfig;
  /** What a request that does not choose runs: the config's at first, then setDefaultBackend's. */
  private backend: AttentionBackend;
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
    this.backend = config.attention.backend;
    this.plasStats = new PlasStats({ sampleEvery: config.attention.statsSampleEvery, recall: config.attention.recall });
    this.kv = new KVCacheManager({
      numPages: pool.options.numPages,
      pageSize: pool.options.pageSize,
      enablePrefixCaching: config.cache.enablePrefixCaching,
      hashSalt: model.dir,
    });
    this.scheduler = new Scheduler(config.scheduler, this.kv);
    this.grammar = new GrammarSupport(model);
    this.runner = new ModelRunner(gpu, model, pool, (_step, upload, host, requestIds) => {
      const pageSize = pool.options.pageSize;
      // A sliding-window model (every layer, Mistral v0.1 style) attends the last `window` positions only.
      const window = model.config.slidingWindow ?? 0;
      const batch = { seqs: upload.seqs, blockTables: upload.blockTables, host, pageSize, requestIds, window };
      if (!config.attention.allowPlas) return new PagedAttentionBackend(pool.layers, batch, upload.slots);
      const seqConfigs = requestIds.map((id) => {
        const own = this.choices.get(id)?.plas ?? null;
        return own === 'live' ? this.plas : own;
      });
      const blockSize = this.plas.plas_block_size;
      if (seqConfigs.every((c) => c === null)) {
        return new DenseKeySumBackend(pool.layers, batch, upload.slots, blockSize, this.gates);
      }
      // The live config is read once per step: an update applies from the next step on.
      const plasBatch = { ...batch, seqConfigs };
      return new PlasAttentionBackend(pool.layers, plasBatch, upload.slots, this.plas, this.gates, this.plasStats);
    });
  }

  static async create(gpu: Gpu, model: LoadedModel, input: EngineConfigInput = {}): Promise<Engine> {
    const config = await Engine.resolveConfig(model.dir, input);
    const { pageSize, dtype } = config.cache;
    const d = model.dims;
    const plasOn = config.attention.allowPlas;
    // Checked before the pool is allocated: the weights and the pool within the budget and the binding limit.
    const sizing = planKvPool(gpu.limits, d, model.config.maxPositionEmbeddings, model.weightBytes, config);
    const shape = {
      numLayers: d.numLayers,
      kvHeads: d.kvHeads,
      headDim: d.headDim,
      blockSize: config.attention.plas.plas_block_size,
    };
    // gate 'mean' does not read the folder's gate at all: a gate trained for another block size must not stop it.
    const askedMean = config.attention.gate === 'mean';
    const gateFile = config.attention.gateFile ?? gateFileOf(model.dir);
    const gateWeights = plasOn && !askedMean ? await loadPlasGateWeights(gateFile, shape) : null;
    const gates = gateWeights ? uploadGateWeights(gpu, gateWeights, shape) : [];
    const pool = new PagedKvPool(gpu, model.dims, { numPages: sizing.numPages, pageSize, dtype, keySums: plasOn });
    const gate = !plasOn
      ? 'not loaded (PLAS is off for this engine)'
      : gateWeights
        ? describeGate(gateWeights)
        : askedMean
          ? `mean pooling on all ${d.numLayers} layers (asked for; the folder's gate is not read)`
          : `mean pooling on all ${d.numLayers} layers (the folder has no gate)`;
    return new Engine(gpu, model, config, sizing, pool, gates, gate);
  }

  /** The longest sequence a request may have: max_model_len, at most (and by default) max_position_embeddings. */
  private static contextLength(model: LoadedModel, config: EngineConfig): number {
    return contextLengthOf(model.config.maxPositionEmbeddings, config);
  }

  /**
   * The config an engine of this model runs: a learned gate fixes the PLAS block size it was trained for, unless the
   * caller chose one (and pages shrink to the block when they would not divide it and the caller left the page size
   * alone).
   */
  private static async resolveConfig(modelPath: string, input: EngineConfigInput): Promise<EngineConfig> {
    const gateFile = input.attention?.gateFile ?? gateFileOf(modelPath);
    input = await withModelPlasConfig(modelPath, gateFile, input); // the folder's plas_config.json, under the caller's
    const gateBlocks = input.attention?.plas?.plas_block_size === undefined ? await gateBlockSize(gateFile) : null;
    if (gateBlocks !== null) {
      const plas = { ...input.attention?.plas, plas_block_size: gateBlocks };
      const pageSize = input.cache?.pageSize ?? Math.min(DEFAULT_PAGE_SIZE, gateBlocks);
      input = { ...input, cache: { ...input.cache, pageSize }, attention: { ...input.attention, plas } };
    }
    return engineConfig(input);
  }

  /**
   * Loads a model (a folder or a GGUF file) and starts its engine, checking BEFORE any weight is uploaded that the
   * weights, as they will be on the GPU, and the KV pool this config asks for fit the adapter's binding limit and the
   * GPU budget (cache.gpuBudgetBytes): an EngineConfigError says what would fit, and nothing is allocated. The
   * caller owns the model (dispose it after close()); on failure nothing stays on the GPU.
   */
  static async load(
    gpu: Gpu,
    path: string,
    input: EngineConfigInput = {},
    onProgress?: LoadProgress,
  ): Promise<{ model: LoadedModel; engine: Engine }> {
    const config = await Engine.resolveConfig(path, input);
    const model = await loadModel(gpu, path, onProgress, {
      beforeUpload: (plan) =>
        planKvPool(gpu.limits, plan.dims, plan.config.maxPositionEmbeddings, plan.weightBytes, config),
    });
    try {
      return { model, engine: await Engine.create(gpu, model, input) };
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  /** The live PLAS config. */
  get plasConfig(): PlasConfig {
    return this.plas;
  }

  /**
   * Change PLAS ranges and limits while requests run: validated as a whole (nothing changes when it throws), in force
   * from the next scheduled step for every request that did not bring its own, no reload. The block size is fixed.
   */
  setPlasConfig(partial: Partial<PlasConfig>): PlasConfig {
    this.plas = mergePlasConfig(this.plas, partial, this.pool.options.pageSize);
    return this.plas;
  }

  /** What a request that does not choose runs. */
  get defaultBackend(): AttentionBackend {
    return this.backend;
  }

  /**
   * Switch what requests that do not choose run, from the next request admitted (those running keep theirs). PLAS
   * needs an engine created with it allowed (key sums kept): otherwise an EngineConfigError and nothing changes.
   */
  setDefaultBackend(backend: AttentionBackend): AttentionBackend {
    if (backend !== 'dense' && backend !== 'plas') {
      throw new EngineConfigError(`attention.backend (${JSON.stringify(backend)}) must be dense or plas`);
    }
    if (backend === 'plas' && !this.config.attention.allowPlas) {
      throw new EngineConfigError('attention.backend cannot be plas: this engine was created with PLAS off');
    }
    this.backend = backend;
    return backend;
  }

  /**
   * Stream the generation of one request (n choices). Never throws: a bad request, a closed engine or a lost device
   * come out of the iterator as typed errors (serving/errors.ts). Aborting `signal`, or ending the iteration early,
   * ends it at the next step and frees its pages.
   */
  generate(input: GenerateRequest, signal?: AbortSignal): AsyncIterable<EngineEvent> {
    let job: Job | undefined;
    const backlog = this.config.eventBacklog;
    const stream = new EventStream<EngineEvent>(
      {
        onFull: () => job && this.holdJob(job, true),
        onDrained: () => job && this.holdJob(job, false),
        onCancel: () => job && this.endJob(job, 'abort'),
      },
      backlog,
      Math.floor(backlog / 4),
    );
    try {
      if (this.lost) throw this.lost;
      if (this.closed) throw new EngineClosedError();
      const resolved = resolveRequest(input, {
        vocabSize: this.model.config.vocabSize,
        contextLength: Engine.contextLength(this.model, this.config),
        kvTokens: this.kv.tokensThatFit(),
        defaults: this.model.generation,
        plas: this.plas,
        plasAvailable: this.config.attention.allowPlas,
        defaultBackend: this.backend,
        pageSize: this.pool.options.pageSize,
      });
      job = { stream, choices: [], open: 0, detach: () => {} };
      const started = job;
      if (signal) {
        const onAbort = () => this.endJob(started, 'abort');
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      const id = input.id ?? `req-${nextId++}`;
      if (input.grammar) {
        const spec = input.grammar;
        this.grammar
          .matchers(spec, resolved.n)
          .then((matchers) => this.admit(started, id, resolved, matchers, signal))
          .catch((error) => this.failJob(started, error as Error));
      } else this.admit(job, id, resolved, null, signal);
    } catch (error) {
      stream.fail(error as Error);
    }
    return stream;
  }

  private admit(
    job: Job,
    id: string,
    r: ResolvedRequest,
    matchers: Awaited<ReturnType<GrammarSupport['matchers']>> | null,
    signal: AbortSignal | undefined,
  ): void {
    if (signal?.aborted || this.closed || this.lost) {
      for (const m of matchers ?? []) this.grammar.release(m);
      if (this.lost) this.failJob(job, this.lost);
      else if (this.closed && !signal?.aborted) this.failJob(job, new EngineClosedError());
      else job.stream.close();
      return;
    }
    const now = performance.now();
    const seed = r.sampling.seed ?? randomSeed();
    for (let i = 0; i < r.n; i++) {
      // Choice i samples with seed + i, so it equals a single request with that seed.
      const sampling = r.n > 1 ? { ...r.sampling, seed: (seed + i) >>> 0 } : r.sampling;
      const request = new Request<SamplingParams>({
        id: r.n > 1 ? `${id}#${i}` : id,
        promptTokenIds: r.promptTokenIds,
        maxTokens: sampling.maxTokens,
        eosTokenIds: this.model.config.eosTokenIds,
        stopTokenIds: sampling.stopTokenIds,
        ignoreEos: sampling.ignoreEos,
        sampling,
        cacheSalt: this.attentionSalt(r.plas),
      });
      const choice = new Choice({
        index: i,
        request,
        rng: new SamplingRng((seed + i) >>> 0),
        decoder: new StreamDecoder(this.model.tokenizer, { skipSpecialTokens: sampling.skipSpecialTokens }),
        topLogprobs: r.topLogprobs,
        logitBias: r.logitBias,
        plas: r.plas,
        grammar: matchers?.[i] ?? null,
        arrivedAt: now,
      });
      try {
        this.scheduler.addRequest(request); // throws RequestTooLargeError when it could never fit
      } catch (error) {
        this.endJob(job, 'abort');
        this.failJob(job, error as Error);
        return;
      }
      this.choices.set(request.id, choice);
      this.jobOf.set(choice, job);
      job.choices.push(choice);
      job.open++;
    }
    this.kick();
  }

  /** Start the step loop if it is not running, or wake it if it waits. */
  private kick(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
    this.loop ??= this.run().finally(() => {
      this.loop = null;
      if (this.scheduler.hasUnfinishedRequests() && !this.lost) this.kick();
    });
  }

  private async run(): Promise<void> {
    try {
      while (this.scheduler.hasUnfinishedRequests()) {
        const output = this.scheduler.schedule();
        if (output.scheduled.length === 0) {
          if (this.scheduler.stats().numRunning === 0 && this.scheduler.hasSchedulableRequests()) {
            // Nothing runs that could free pages, nothing is held, yet nothing fits: addRequest's size check makes
            // this impossible; never spin.
            throw new Error('the scheduler made no progress: no request fits the KV pool');
          }
          // Held requests (slow readers) keep their pages: wait until one is released or ends.
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          continue;
        }
        await this.step(output);
      }
    } catch (error) {
      const failure = (await this.deviceLost(error)) ?? (error as Error);
      for (const choice of [...this.choices.values()]) {
        const job = this.jobOf.get(choice);
        if (job) this.failJob(job, failure);
      }
    }
  }

  /**
   * Whether a step failed because the device is gone. A lost device surfaces as whatever call noticed first (often a
   * DOMException from mapAsync), and its `lost` promise settles a moment later: wait for it briefly.
   */
  private async deviceLost(error: unknown): Promise<GpuDeviceLostError | null> {
    if (error instanceof GpuDeviceLostError) this.lost = error;
    else {
      const settled = await Promise.race([
        this.gpu.device.lost,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 100)),
      ]);
      if (settled)
        this.lost = new GpuDeviceLostError(`${settled.reason}: ${settled.message || (error as Error).message}`);
    }
    return this.lost;
  }

  private async step(output: SchedulerOutput): Promise<void> {
    // The runner reads these requests for the whole step, even one that ends meanwhile (its tokens are then ignored).
    const requests = new Map<string, RunnerRequest>();
    for (const s of output.scheduled) {
      const c = this.choices.get(s.requestId);
      if (c) requests.set(s.requestId, c);
    }
    const sampling = output.scheduled.filter((s) => s.sample).map((s) => this.choices.get(s.requestId));
    await this.prepareMasks(sampling.filter((c): c is Choice => c !== undefined));
    this.computedTokens += output.numScheduledTokens;
    const result: StepResult = await this.runner.execute(output, requests);
    await this.plasStats.settled(); // a finishing request's density must be in before its done event
    const now = performance.now();
    for (const update of this.scheduler.updateFromOutput(output, result.tokens)) {
      const choice = this.choices.get(update.requestId);
      const job = choice && this.jobOf.get(choice);
      if (!choice || !job) continue;
      this.generatedTokens += update.newTokenIds.length;
      const { event, stoppedBy } = choice.process(update, result.logprobs.get(update.requestId), now);
      if (event) job.stream.push(event);
      if (choice.grammar) choice.grammarPending = update.newTokenIds[update.newTokenIds.length - 1] ?? null;
      if (stoppedBy !== null) this.endChoice(choice, 'stop', stoppedBy);
      else if (update.finishReason) {
        const byStopId = update.stopTokenId !== null && choice.sampling.stopTokenIds.includes(update.stopTokenId);
        this.endChoice(choice, update.finishReason, byStopId ? update.stopTokenId : null);
      }
    }
  }

  /** This step's token masks: grammar (one worker round trip for the batch) and min_tokens. */
  private async prepareMasks(sampling: Choice[]): Promise<void> {
    const withGrammar = sampling.filter((c) => c.grammar !== null);
    let grammarMasks = new Map<Choice, Uint32Array | null>();
    if (withGrammar.length > 0) {
      const { masks, failed } = await this.grammar.step(withGrammar);
      grammarMasks = masks;
      for (const [choice, error] of failed) {
        const job = this.jobOf.get(choice);
        if (job) this.failJob(job, error);
      }
    }
    const eos = this.model.config.eosTokenIds;
    for (const c of sampling) {
      c.mask = tokenMasks(this.model.config.vocabSize, grammarMasks.get(c) ?? null, c, eos);
    }
  }

  private holdJob(job: Job, hold: boolean): void {
    for (const c of job.choices) {
      if (hold) this.scheduler.hold(c.id);
      else this.scheduler.release(c.id);
    }
    if (!hold) this.kick();
  }

  /** End every open choice of a job (abort, close). */
  private endJob(job: Job, reason: FinishReason): void {
    for (const c of job.choices) if (this.choices.has(c.id)) this.endChoice(c, reason, null);
  }

  /** End a job with an error: its choices are dropped (pages freed) and the reader gets the error. */
  private failJob(job: Job, error: Error): void {
    for (const c of job.choices) {
      if (!this.choices.delete(c.id)) continue;
      this.scheduler.abort(c.id);
      this.plasStats.takeRequest(c.id);
      if (c.grammar) this.grammar.release(c.grammar);
      this.jobOf.delete(c);
    }
    job.detach();
    job.stream.fail(error);
  }

  /** Finish one choice: flush held text (unless a stop string ended it), emit `done`, free its pages. */
  private endChoice(choice: Choice, reason: FinishReason, stoppedBy: string | number | null): void {
    const job = this.jobOf.get(choice);
    if (!job || !this.choices.delete(choice.id)) return;
    this.jobOf.delete(choice);
    this.scheduler.finish(choice.id, reason);
    if (choice.grammar) this.grammar.release(choice.grammar);
    if (reason === 'abort') {
      const rest = choice.flush();
      if (rest) job.stream.push({ type: 'token', index: choice.index, ids: [], text: rest });
    }
    job.stream.push(choice.done(reason, stoppedBy, this.attentionReport(choice), performance.now()));
    if (--job.open === 0) {
      job.detach();
      job.stream.close();
    }
  }

  /**
   * The prefix-cache salt of a request's attention. Past the first layer, K and V depend on how the layers below
   * attended: pages a PLAS request computed are not the pages dense attention would compute (nor PLAS under other
   * ranges), so they are shared only between requests that attend the same way. Dense requests need no salt; with a
   * single layer K and V depend on the tokens alone and every request may share.
   */
  private attentionSalt(plas: Choice['plas']): string | undefined {
    if (plas === null || this.model.dims.numLayers === 1) return undefined;
    const config = plas === 'live' ? this.plas : plas;
    return `plas:${JSON.stringify(config, Object.keys(config).sort())}`;
  }

  private attentionReport(choice: Choice): AttentionReport {
    const s = this.plasStats.takeRequest(choice.id);
    const layers = Array.from({ length: this.model.dims.numLayers }, (_, i) => s.layers.get(i));
    // A dense request attends every block of every layer; a PLAS one shows what its sampled steps attended.
    const perLayer = (pick: (l: BlockSummary) => number | null) =>
      layers.map((l) => (choice.plas === null ? 1 : l ? pick(l) : null));
    return {
      backend: choice.plas ? 'plas' : 'dense',
      prefillDensity: s.prefillDensity ?? 1,
      decodeDensity: s.decodeDensity ?? 1,
      blocksSelected: s.selectedBlocks,
      blocksCandidate: s.candidateBlocks,
      layerDensity: { prefill: perLayer((l) => l.prefillDensity), decode: perLayer((l) => l.decodeDensity) },
      plas: choice.plas === null || choice.plas === 'live' ? this.plas : choice.plas,
    };
  }

  /** stats() once the statistics of every step run so far have arrived (PLAS counts are read back asynchronously). */
  async settledStats(): Promise<EngineStats> {
    await this.plasStats.settled();
    return this.stats();
  }

  stats(): EngineStats {
    const s = this.scheduler.stats();
    const kv = this.kv.stats();
    const d = this.model.dims;
    const keySumBytes = this.config.attention.allowPlas ? kv.numPages * d.kvHeads * d.headDim * 4 * d.numLayers : 0;
    return {
      running: s.numRunning,
      waiting: s.numWaiting,
      held: s.numHeld,
      steps: s.step,
      preemptions: s.numPreemptions,
      computedTokens: this.computedTokens,
      kv: {
        numPages: kv.numPages,
        pageSize: kv.pageSize,
        freePages: kv.numFreePages,
        usage: kv.usage,
        tokensThatFit: this.kv.tokensThatFit(),
        dtype: this.sizing.dtype,
        bytes: this.sizing.totalBytes,
        buffers: this.sizing.buffers,
        keySumBytes,
      },
      prefixCache: { queriedTokens: kv.prefixCacheQueries, hitTokens: kv.prefixCacheHits },
      generatedTokens: this.generatedTokens,
      samplingDefaults: this.model.generation,
      attention: {
        backend: this.backend,
        plasAvailable: this.config.attention.allowPlas,
        plas: this.plas,
        gate: this.gateDescription,
        layers: [...this.plasStats.layers()],
        requests: [...this.plasStats.requests()],
      },
    };
  }

  /**
   * End every request in flight (finish reason 'abort', pages freed), wait for the step in flight, then free the KV
   * pool, the gates and the grammar worker. The model stays loaded (the caller owns it).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const choice of [...this.choices.values()]) this.endChoice(choice, 'abort', null);
    this.kick(); // a loop waiting for held requests sees they are gone and ends
    await this.loop;
    this.pool.destroy();
    for (const g of this.gates) g?.buffer.destroy();
    await this.grammar.close();
  }
}
