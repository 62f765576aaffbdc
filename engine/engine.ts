/**
 * The engine's public face: a loaded model, the paged KV pool, the scheduler and the model runner behind
 * `generate(request, signal): AsyncIterable<EngineEvent>` and `stats()`. Requests arrive at any time; one step loop
 * serves them all (continuous batching). Typed requests in, events out: no JSON, no HTTP, no environment in here.
 *
 * One step: schedule -> token masks (grammar, min_tokens) -> the runner computes every scheduled token in one command
 * buffer and samples -> the scheduler appends the tokens and applies stop tokens and lengths -> each choice turns its
 * tokens into text and events (serving/choice.ts), apart from the loop.
 */
import type { EngineConfig, EngineConfigInput } from './engine-config.ts';
import { allocateEngineResources, type EngineResources, resolveEngineConfig } from './engine-resources.ts';
import { randomSeed, SamplingRng } from './generation/rng.ts';
import type { SamplingParams } from './generation/sampling-params.ts';
import type { Gpu } from './gpu/gpu.ts';
import { KVCacheManager } from './kv/kv-cache-manager.ts';
import { type LoadedModel, loadModel } from './model/load-model.ts';
import { contextLengthOf, planKvPool } from './model/memory-plan.ts';
import type { LoadProgress } from './model/upload-weights.ts';
import type { AttentionBackend, PlasConfig } from './plas/config.ts';
import { DenseKeySumBackend } from './runner/dense-keysum-backend.ts';
import { ModelRunner, type RunnerRequest, type StepResult } from './runner/model-runner.ts';
import { PagedAttentionBackend } from './runner/paged-backend.ts';
import { PlasAttentionBackend } from './runner/plas-backend.ts';
import type { SchedulerOutput } from './scheduler/output.ts';
import { type FinishReason, Request } from './scheduler/request.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { Choice } from './serving/choice.ts';
import type { EngineStats } from './serving/engine-stats.ts';
import { EngineClosedError, GpuDeviceLostError } from './serving/errors.ts';
import { EventStream } from './serving/event-stream.ts';
import { GrammarSupport } from './serving/grammar-support.ts';
import { LiveAttention } from './serving/live-attention.ts';
import { type ResolvedRequest, resolveRequest } from './serving/resolve-request.ts';
import { tokenMasks } from './serving/token-masks.ts';
import type { EngineEvent, GenerateRequest } from './serving/types.ts';
import { StreamDecoder } from './tokenizer/stream-decoder.ts';

export type { EngineStats } from './serving/engine-stats.ts';
export type { AttentionReport, EngineEvent, GenerateRequest, RequestTimings } from './serving/types.ts';

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
  /** Live PLAS settings, the default backend, block statistics and per-request reports. */
  private readonly attention: LiveAttention;

  private constructor(
    readonly gpu: Gpu,
    readonly model: LoadedModel,
    readonly config: EngineConfig,
    private readonly resources: EngineResources,
  ) {
    const { pool, gates } = resources;
    this.attention = new LiveAttention({
      plas: config.attention.plas,
      backend: config.attention.backend,
      allowPlas: config.attention.allowPlas,
      pageSize: pool.options.pageSize,
      numLayers: model.dims.numLayers,
      gate: resources.gateDescription,
      statsSampleEvery: config.attention.statsSampleEvery,
      recall: config.attention.recall,
    });
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
      // The live config is read once per step: an update applies from the next step on.
      const live = this.attention.config;
      const seqConfigs = requestIds.map((id) => this.attention.configOf(this.choices.get(id)?.plas ?? null));
      if (seqConfigs.every((c) => c === null)) {
        return new DenseKeySumBackend(pool.layers, batch, upload.slots, live.plas_block_size, gates);
      }
      const plasBatch = { ...batch, seqConfigs };
      return new PlasAttentionBackend(pool.layers, plasBatch, upload.slots, live, gates, this.attention.stats);
    });
  }

  static async create(gpu: Gpu, model: LoadedModel, input: EngineConfigInput = {}): Promise<Engine> {
    const config = await resolveEngineConfig(model.dir, input);
    return new Engine(gpu, model, config, await allocateEngineResources(gpu, model, config));
  }

  /** The longest sequence a request may have: max_model_len, at most (and by default) max_position_embeddings. */
  private static contextLength(model: LoadedModel, config: EngineConfig): number {
    return contextLengthOf(model.config.maxPositionEmbeddings, config);
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
    const config = await resolveEngineConfig(path, input);
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
    return this.attention.config;
  }

  /**
   * Change PLAS ranges and limits while requests run: validated as a whole (nothing changes when it throws), in force
   * from the next scheduled step for every request that did not bring its own, no reload. The block size is fixed.
   */
  setPlasConfig(partial: Partial<PlasConfig>): PlasConfig {
    return this.attention.setConfig(partial);
  }

  /** What a request that does not choose runs. */
  get defaultBackend(): AttentionBackend {
    return this.attention.defaultBackend;
  }

  /**
   * Switch what requests that do not choose run, from the next request admitted (those running keep theirs). PLAS
   * needs an engine created with it allowed (key sums kept): otherwise an EngineConfigError and nothing changes.
   */
  setDefaultBackend(backend: AttentionBackend): AttentionBackend {
    return this.attention.setDefaultBackend(backend);
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
        plas: this.attention.config,
        plasAvailable: this.config.attention.allowPlas,
        defaultBackend: this.attention.defaultBackend,
        pageSize: this.resources.pool.options.pageSize,
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
        cacheSalt: this.attention.salt(r.plas),
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
    await this.attention.stats.settled(); // a finishing request's density must be in before its done event
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
      this.attention.stats.takeRequest(c.id);
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
    job.stream.push(choice.done(reason, stoppedBy, this.attention.report(choice.id, choice.plas), performance.now()));
    if (--job.open === 0) {
      job.detach();
      job.stream.close();
    }
  }

  /** stats() once the statistics of every step run so far have arrived (PLAS counts are read back asynchronously). */
  async settledStats(): Promise<EngineStats> {
    await this.attention.stats.settled();
    return this.stats();
  }

  stats(): EngineStats {
    const s = this.scheduler.stats();
    const kv = this.kv.stats();
    const d = this.model.dims;
    // Key sums (D floats) and key bounds (2 * D) per page, kv head and layer.
    const keySumBytes = this.config.attention.allowPlas ? kv.numPages * d.kvHeads * 3 * d.headDim * 4 * d.numLayers : 0;
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
        dtype: this.resources.sizing.dtype,
        bytes: this.resources.sizing.totalBytes,
        buffers: this.resources.sizing.buffers,
        keySumBytes,
      },
      prefixCache: { queriedTokens: kv.prefixCacheQueries, hitTokens: kv.prefixCacheHits },
      generatedTokens: this.generatedTokens,
      samplingDefaults: this.model.generation,
      attention: this.attention.view(),
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
    this.resources.pool.destroy();
    for (const g of this.resources.gates) {
      g.sum?.buffer.destroy();
      g.bound?.buffer.destroy();
    }
    await this.grammar.close();
  }
}
