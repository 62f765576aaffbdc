/**
 * The shapes the server's own /api and /v1 routes answer with: registered models, the settings page, the request log.
 * This file imports nothing but other import-free types files: the renderer imports its types too (`import type`,
 * checked with the DOM's lib and no node types), so the two sides cannot drift apart.
 */
import type { ProviderTimeouts } from './providers/provider-types.ts';

/** A registered model as /v1/models and /api/models list it. */
export interface ModelSummary {
  /** The name requests use (the registry's key; never a path). */
  name: string;
  /** The folder it was added from (shown to the app only, never resolved from a request). */
  path: string;
  architecture: string;
  parameters: number;
  dtype: string;
  /** The context requests are held to: the model's, or --max-model-len when that is lower. */
  contextLength: number;
  sizeBytes: number;
  loaded: boolean;
  addedAt: number;
  /** Shipped with the app (resources/models): the app never changes it (gate training trains a copy instead). */
  bundled: boolean;
}

/** Caps on what one request may ask (fuzzing and abuse): n, max_tokens, stop strings, tools, schema bytes. */
export interface ServerLimits {
  maxN: number;
  maxTokens: number;
  maxStop: number;
  maxTools: number;
  maxSchemaBytes: number;
  /** Requests waiting for the model beyond which new ones get 429 with Retry-After. */
  maxWaiting: number;
}

/** What GET /api/settings shows (never a secret: whether an API key is set, not the key). */
export interface ServerInfo {
  host: string;
  port: number;
  dataDir: string;
  defaultModel: string | null;
  servedModelName: string | null;
  keepAliveMs: number;
  maxModelLen: number | null;
  apiKeyRequired: boolean;
  corsOrigins: string[];
  allowedHosts: string[];
  /** The engine settings every model loads with (CLI flags, validated). */
  engine: unknown;
  limits: ServerLimits;
  /** Timeouts of requests forwarded to remote providers (serve's --provider-* flags). */
  providerTimeouts?: ProviderTimeouts;
}

/** A request's attention as the request log keeps it: numbers only. */
export interface RequestAttention {
  backend: 'dense' | 'plas';
  prefillDensity: number;
  decodeDensity: number;
  /** Per layer (index = layer): the share of blocks attended, null where no step of that kind was sampled. */
  layerDensity: { prefill: (number | null)[]; decode: (number | null)[] };
}

/** One finished request as GET /api/requests lists it: numbers only, never prompt or output text. */
export interface RequestRecord {
  /** The route pattern, e.g. "/v1/chat/completions". */
  route: string;
  model: string;
  /** HTTP status the client saw (500 for a stream that failed after its header). */
  status: number;
  promptTokens: number;
  completionTokens: number;
  /** Time to the first token, ms; null when none was generated. */
  ttftMs: number | null;
  /** Output tokens per second after the first; null when fewer than 2 tokens. */
  tokensPerSecond: number | null;
  /** The finish reason ('stop', 'length', 'abort', ...) or the error type. */
  outcome: string;
  durationMs: number;
  /** ms since the epoch when it finished; filled in by record() when left out. */
  at?: number;
  /** What its first choice attended (the Tuning page's heatmap and chart); absent when it generated nothing. */
  attention?: RequestAttention;
}

/**
 * One entry of GET /api/requests (newest first): `id` grows by one per request (the app keys its charts on it);
 * attention is null when absent.
 */
export type LoggedRequest = Required<Omit<RequestRecord, 'attention'>> & {
  id: number;
  attention: RequestAttention | null;
};
