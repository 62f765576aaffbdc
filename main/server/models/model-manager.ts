/**
 * The server's models: the registry (SQLite) and the one model loaded on the GPU.
 *
 * - acquire() loads a registered model on first use (JIT); callers asking for a model that is loading share its load.
 * - One model is loaded at a time. Loading another unloads the current one when it is idle; when it still serves
 *   requests the switch is refused with ModelBusyError (503, Retry-After) instead of queued: a queued switch would
 *   stall every request for either model behind the longest stream, with no way for a client to see why.
 * - Keep-alive: after its last lease is released a model stays loaded for the request's keep_alive, else the
 *   model's own, else the server's (--keep-alive, default 30 min); -1 keeps it, 0 unloads it at once.
 * - Loads, unloads and removals run one at a time (a promise chain), so the GPU never holds two models.
 * - Names resolve through the registry only; the path loaded is the one stored when the model was added, checked
 *   again to stay inside its folder before each load.
 */

import type { Engine } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { LoadProgress } from '../../../engine/model/upload-weights.ts';
import type { ModelRecord, ModelsRepository } from '../../store/models-repo.ts';
import {
  ModelBusyError,
  type ModelLease,
  ModelLoadError,
  type ModelManager,
  type ModelSummary,
  ServerClosingError,
  UnknownModelError,
} from '../context.ts';
import { DEFAULT_KEEP_ALIVE_MS } from '../keep-alive.ts';
import { isBundledPath } from './bundled.ts';
import { checkModelPath } from './folder-containment.ts';
import { engineLoader, type ModelLoader } from './model-loader.ts';
import { addModel } from './registry.ts';

export interface ModelManagerOptions {
  gpu: Gpu;
  repo: ModelsRepository;
  engine: EngineConfigInput;
  /** --keep-alive in ms (-1: forever); default 30 min. */
  defaultKeepAliveMs?: number;
  /** The model a request without a name gets when none is loaded (the one `plas serve` was started with). */
  defaultModel?: string;
  /** --served-model-name: another name for the default model. */
  servedModelName?: string;
  /** --max-model-len: the context requests are held to, when below the model's. */
  maxModelLen?: number;
  log?: (message: string) => void;
  /** Tests wrap the real loader to hold a load open. */
  loader?: ModelLoader;
}

interface Slot {
  record: ModelRecord;
  model: LoadedModel;
  engine: Engine;
  leases: number;
  keepAliveMs: number;
  timer: NodeJS.Timeout | null;
  loadSeconds: number;
}

interface PendingLoad {
  name: string;
  promise: Promise<Slot>;
  loaded: number;
  total: number;
  listeners: Set<LoadProgress>;
  /** acquire() calls waiting on this load: each gets a lease the moment it completes. */
  reservations: number;
}

export interface LoadedInfo {
  name: string;
  engine: Engine;
  model: LoadedModel;
  loadSeconds: number;
  leases: number;
}

export class LocalModelManager implements ModelManager {
  private current: Slot | null = null;
  private readonly pending = new Map<string, PendingLoad>();
  private chain: Promise<unknown> = Promise.resolve();
  private lastError: { name: string; message: string } | null = null;
  private closed = false;
  private readonly loader: ModelLoader;
  private readonly log: (message: string) => void;
  private readonly loadedListeners = new Set<(loaded: LoadedInfo) => void>();
  readonly defaultKeepAliveMs: number;

  constructor(private readonly options: ModelManagerOptions) {
    this.loader = options.loader ?? engineLoader;
    this.log = options.log ?? (() => {});
    this.defaultKeepAliveMs = options.defaultKeepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  }

  get defaultModel(): string | undefined {
    return this.options.defaultModel;
  }

  /** The GPU models load on (gate training runs on it with the loaded weights, not a second copy). */
  get gpu(): Gpu {
    return this.options.gpu;
  }

  // --- the registry ---

  list(): ModelSummary[] {
    const loaded = this.current?.record.name;
    const summaries = this.options.repo.list().map((r) => this.summary(r, r.name === loaded));
    return [...summaries.filter((s) => s.loaded), ...summaries.filter((s) => !s.loaded)];
  }

  /** The registered model (never a path lookup); throws UnknownModelError. */
  get(name: string): ModelSummary {
    const record = this.options.repo.get(name);
    if (!record) throw new UnknownModelError(name);
    return this.summary(record, this.current?.record.name === name);
  }

  /** Validates the folder and registers it (see registry.ts). */
  async add(path: string, name?: string): Promise<ModelSummary> {
    return this.summary(await addModel(this.options.repo, path, name), false);
  }

  /** Unregisters a model (unloading it first when it is loaded and idle; ModelBusyError when it serves requests). */
  remove(name: string): Promise<void> {
    if (!this.options.repo.get(name)) return Promise.reject(new UnknownModelError(name));
    return this.serialize(async () => {
      const slot = this.current;
      if (slot?.record.name === name) {
        if (slot.leases > 0) throw new ModelBusyError(name, name, slot.leases);
        await this.unloadSlot(slot, 'removed');
      }
      if (!this.options.repo.remove(name)) throw new UnknownModelError(name);
    });
  }

  // --- loading ---

  async acquire(name: string | undefined, keepAliveMs?: number): Promise<ModelLease> {
    const target = this.resolve(name);
    if (this.closed) throw new ServerClosingError();
    const slot = this.current;
    if (slot && slot.record.name === target) {
      slot.leases++;
      return this.lease(slot, keepAliveMs);
    }
    // The lease is reserved on the load and taken inside it, before any other load or unload can run: a request
    // for another model queued behind this load then sees this one busy, and two clients alternating models
    // cannot unload each other's model between its load and its lease.
    const load = this.startLoad(target);
    load.reservations++;
    return this.lease(await load.promise, keepAliveMs);
  }

  /** Loads the model (a no-op when it is loaded); `onProgress` gets weight bytes uploaded. */
  load(name: string, onProgress?: LoadProgress): Promise<void> {
    if (!this.options.repo.get(name)) return Promise.reject(new UnknownModelError(name));
    if (this.current?.record.name === name) return Promise.resolve();
    const load = this.startLoad(name);
    if (onProgress) load.listeners.add(onProgress);
    return load.promise.then(() => {});
  }

  /** The load of `name` under way, or a new one queued behind the loads and unloads before it. */
  private startLoad(name: string): PendingLoad {
    const pending = this.pending.get(name);
    if (pending) return pending;
    const load: PendingLoad = { name, promise: null!, loaded: 0, total: 0, listeners: new Set(), reservations: 0 };
    load.promise = this.serialize(async () => {
      try {
        if (this.closed) throw new ServerClosingError();
        let slot = this.current;
        if (slot?.record.name !== name) {
          if (slot) {
            if (slot.leases > 0) throw new ModelBusyError(slot.record.name, name, slot.leases);
            await this.unloadSlot(slot, `replaced by '${name}'`);
          }
          slot = await this.loadSlot(name, load);
        }
        slot.leases += load.reservations;
        if (slot.leases > 0 && slot.timer) {
          clearTimeout(slot.timer);
          slot.timer = null;
        } else if (slot.leases === 0 && !slot.timer && slot.keepAliveMs !== 0) {
          // Loaded without a request (at launch, or from the app): the keep-alive counts from now; 0 waits for one.
          this.armIdle(slot);
        }
        return slot;
      } finally {
        this.pending.delete(name);
      }
    });
    this.pending.set(name, load);
    return load;
  }

  /** Unloads the named model now, ending its requests in flight (finish reason abort). false when it was not loaded. */
  unload(name: string): Promise<boolean> {
    return this.serialize(async () => {
      const slot = this.current;
      if (slot?.record.name !== name) return false;
      await this.unloadSlot(slot, 'asked to');
      return true;
    });
  }

  notReady(): string | null {
    if (this.closed) return 'the server is shutting down';
    if (this.current) return null;
    const loading = [...this.pending.values()][0];
    if (loading) {
      const pct = loading.total > 0 ? ` (${Math.floor((100 * loading.loaded) / loading.total)}%)` : '';
      return `loading the model '${loading.name}'${pct}`;
    }
    if (this.lastError) return `loading '${this.lastError.name}' failed: ${this.lastError.message}`;
    const models = this.options.repo.list();
    if (models.length === 0) return 'no model is registered: add one (POST /api/models, or plas serve --model DIR)';
    return `no model is loaded (the next request loads '${this.options.defaultModel ?? models[0].name}')`;
  }

  /** The loaded model, for metrics, stats and the PLAS routes. */
  loaded(): LoadedInfo | null {
    const s = this.current;
    return s && { name: s.record.name, engine: s.engine, model: s.model, loadSeconds: s.loadSeconds, leases: s.leases };
  }

  /**
   * Calls `listener` each time a model has loaded, before any request runs on it (the app re-applies the PLAS
   * settings saved for that model). A listener that throws is logged; the model stays loaded. Returns an unsubscribe.
   */
  onLoaded(listener: (loaded: LoadedInfo) => void): () => void {
    this.loadedListeners.add(listener);
    return () => this.loadedListeners.delete(listener);
  }

  /** Unloads everything and refuses new work (server shutdown): requests in flight end with finish reason abort. */
  async close(): Promise<void> {
    this.closed = true;
    await this.serialize(async () => {
      if (this.current) await this.unloadSlot(this.current, 'server shutting down');
    });
  }

  // --- internals ---

  /** A record as listed: its context is the one requests are held to (--max-model-len caps it). */
  private summary(r: ModelRecord, loaded: boolean): ModelSummary {
    const limit = this.options.maxModelLen;
    return {
      name: r.name,
      path: r.path,
      architecture: r.architecture,
      parameters: r.parameters,
      dtype: r.dtype,
      contextLength: limit !== undefined ? Math.min(limit, r.contextLength) : r.contextLength,
      sizeBytes: r.sizeBytes,
      loaded,
      addedAt: r.addedAt,
      bundled: isBundledPath(r.path),
    };
  }

  /** undefined -> the loaded model, else the default; --served-model-name -> the default; else a registry name. */
  private resolve(name: string | undefined): string {
    const { repo, defaultModel, servedModelName } = this.options;
    if (name === undefined || name === '') {
      const chosen = this.current?.record.name ?? defaultModel ?? repo.list()[0]?.name;
      if (chosen === undefined) {
        const error = new UnknownModelError('(default)');
        error.message = 'no model is registered: add one (POST /api/models, or plas serve --model DIR)';
        throw error;
      }
      return chosen;
    }
    if (name === servedModelName && defaultModel !== undefined) return defaultModel;
    if (!repo.get(name)) throw new UnknownModelError(name);
    return name;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => {});
    return run;
  }

  private async loadSlot(name: string, load: PendingLoad): Promise<Slot> {
    const record = this.options.repo.get(name);
    if (!record) throw new UnknownModelError(name);
    const start = performance.now();
    try {
      // The model may have changed since it was added: a symlink out of its folder now would be refused here.
      await checkModelPath(record.path);
      const { model, engine } = await this.loader(
        this.options.gpu,
        record.path,
        this.options.engine,
        (l, t, tensor) => {
          load.loaded = l;
          load.total = t;
          for (const listener of load.listeners) listener(l, t, tensor);
        },
      );
      const slot: Slot = {
        record,
        model,
        engine,
        leases: 0,
        keepAliveMs: record.keepAliveMs ?? this.defaultKeepAliveMs,
        timer: null,
        loadSeconds: (performance.now() - start) / 1000,
      };
      this.current = slot;
      this.lastError = null;
      for (const listener of this.loadedListeners) {
        try {
          listener({ name, engine, model, loadSeconds: slot.loadSeconds, leases: 0 });
        } catch (error) {
          this.log(`after loading '${name}': ${(error as Error).message}`);
        }
      }
      this.log(`Loaded '${name}' (${record.architecture}) in ${slot.loadSeconds.toFixed(2)} s`);
      return slot;
    } catch (error) {
      const message = (error as Error).message;
      this.lastError = { name, message };
      throw new ModelLoadError(`could not load the model '${name}': ${message}`, { cause: error });
    }
  }

  /** A lease on a slot whose lease count already includes it. */
  private lease(slot: Slot, keepAliveMs: number | undefined): ModelLease {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    // The latest request's keep_alive wins, as in Ollama.
    slot.keepAliveMs = keepAliveMs ?? slot.record.keepAliveMs ?? this.defaultKeepAliveMs;
    let released = false;
    const limit = this.options.maxModelLen;
    const modelLength = slot.model.config.maxPositionEmbeddings;
    return {
      name: slot.record.name,
      engine: slot.engine,
      model: slot.model,
      contextLength: limit !== undefined ? Math.min(limit, modelLength) : modelLength,
      release: () => {
        if (released) return;
        released = true;
        slot.leases--;
        if (slot.leases === 0 && this.current === slot) this.armIdle(slot);
      },
    };
  }

  private armIdle(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (slot.keepAliveMs < 0) return;
    slot.timer = setTimeout(() => {
      slot.timer = null;
      void this.serialize(async () => {
        if (this.current === slot && slot.leases === 0) await this.unloadSlot(slot, 'keep-alive expired');
      }).catch((error) => this.log(`unloading '${slot.record.name}' failed: ${(error as Error).message}`));
    }, slot.keepAliveMs);
    // An idle timer must not keep the process alive on its own.
    slot.timer.unref();
  }

  private async unloadSlot(slot: Slot, why: string): Promise<void> {
    if (this.current === slot) this.current = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    try {
      await slot.engine.close(); // its grammar worker too
    } finally {
      slot.model.dispose();
    }
    this.log(`Unloaded '${slot.record.name}' (${why})`);
  }
}
