/**
 * What the route families share: the model manager (registry, JIT loading, keep-alive), the metrics, the server's
 * settings. Routes receive a ServerContext; they never reach into each other's state.
 */
import type { Engine } from '../../engine/engine.ts';
import type { LoadedModel } from '../../engine/model/load-model.ts';
import type { ProviderRegistry } from './providers/registry.ts';
import type { ModelSummary, RequestRecord, ServerLimits } from './server-types.ts';

// The shapes routes answer with live in an import-free file the renderer imports too.
export type { ModelSummary, RequestAttention, RequestRecord } from './server-types.ts';

/** A loaded model held for one request: release() when the request ends (the keep-alive timer counts from then). */
export interface ModelLease {
  readonly name: string;
  readonly engine: Engine;
  readonly model: LoadedModel;
  /** The context length requests are held to (--max-model-len, else the model's). */
  readonly contextLength: number;
  release(): void;
}

export interface ModelManager {
  /** Registered models, the loaded ones first. */
  list(): ModelSummary[];
  /** The model a request without `model` gets (--model), which --served-model-name also names. */
  readonly defaultModel: string | undefined;
  /**
   * The named model (undefined: the default one), loaded first if it is not (JIT). keepAliveMs: how long it stays
   * loaded after its last request (Ollama's keep_alive; default 30 min; 0 unloads at once; -1 keeps it).
   * Throws UnknownModelError (404) or ModelLoadError (500, with the reason).
   */
  acquire(name: string | undefined, keepAliveMs?: number): Promise<ModelLease>;
  /** null when a model is loaded and serving; otherwise why not (loading, none registered, load failed). */
  notReady(): string | null;
}

export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
  constructor(readonly model: string) {
    super(`The model '${model}' does not exist`);
  }
}

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

/**
 * One model is loaded at a time: switching to another while the loaded one still serves requests is refused (503 with
 * Retry-After) rather than queued, so a long stream never silently stalls a request for another model.
 */
export class ModelBusyError extends Error {
  override name = 'ModelBusyError';
  /** `requested` is the model a load waits for; the loaded one itself when it is to be removed. */
  constructor(
    readonly loaded: string,
    readonly requested: string,
    readonly inFlight: number,
  ) {
    const waiting = requested === loaded ? 'try again' : `'${requested}' can load`;
    super(
      `the model '${loaded}' is serving ${inFlight} request(s); ${waiting} once they finish (one model is loaded at a time)`,
    );
  }
}

/** The server is shutting down: no new model loads or requests. */
export class ServerClosingError extends Error {
  override name = 'ServerClosingError';
  constructor() {
    super('the server is shutting down');
  }
}

/** The metrics routes record (prom-client; /metrics renders them). */
export interface ServerMetrics {
  /**
   * Once per /v1 request, with the outcome the client saw (a stream that failed after its 200 header: 500). The app
   * counts every response outside /v1 itself, so calling this for them would count them twice.
   */
  requestFinished(route: string, status: number): void;
  tokens(kind: 'prompt' | 'generated', n: number): void;
  timeToFirstToken(seconds: number): void;
  timePerOutputToken(seconds: number): void;
}

export interface ServerSettings {
  /** --served-model-name: the name the default model answers to (besides its registry name). */
  servedModelName?: string;
  /** Caps on what one request may ask (fuzzing and abuse): n, max_tokens, stop strings, tools, schema bytes. */
  limits: ServerLimits;
}

export interface RequestLog {
  record(entry: RequestRecord): void;
}

export interface ServerContext {
  models: ModelManager;
  metrics: ServerMetrics;
  settings: ServerSettings;
  /** The recent-requests list of /api/requests: /v1 routes record each request once it ends. */
  requests: RequestLog;
  /** Remote providers (issue 18): "NAME/MODEL" requests are forwarded to them; absent in tests that need none. */
  providers?: ProviderRegistry;
}
