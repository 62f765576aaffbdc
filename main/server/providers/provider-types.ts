/**
 * The shapes /api/providers answers with (issue 18's contract). This file imports nothing: the renderer imports its
 * types too (`import type`), so the two sides cannot drift apart.
 */

export const PROVIDER_KINDS = [
  'openai',
  'fastdeploy',
  'vllm',
  'sglang',
  'ollama',
  'llama-server',
  'lmstudio',
  'plas-studio',
] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export type ProviderState = 'ok' | 'down' | 'checking' | 'disabled';

export interface ProviderStatus {
  state: ProviderState;
  /** Time to the answer of the last health check (GET /models), ms. */
  latencyMs: number | null;
  checkedAt: number | null;
  /** A sentence naming the provider and why it is down; null when it is not. */
  error: string | null;
}

export interface Provider {
  name: string;
  baseUrl: string;
  kind: ProviderKind;
  enabled: boolean;
  hasKey: boolean;
  /**
   * What the user should know about the saved key, beside it: where it is kept when that is not the usual place,
   * or why this server cannot use it and what to do (a key sealed by the desktop app's secret storage, seen from a
   * headless server). null when there is nothing to say (or no key).
   */
  keyNote: string | null;
  /** false when a key is saved but this server cannot open it (keyNote says why): requests go nowhere until fixed. */
  keyReadable: boolean;
  status: ProviderStatus;
  /** The provider's own model ids (without the NAME/ prefix). */
  models: string[];
}

/** GET /api/providers/:name/plas-config: a local model's saved PLAS ranges as FastDeploy's launch config. */
export interface PlasExport {
  config: Record<string, number>;
  json: string;
  command: string;
  /** Whether the model had saved PLAS settings (false: FastDeploy's defaults are shown). */
  saved: boolean;
  /** What differs from here (FastDeploy's block size, keys it does not have), in sentences. */
  notes: string[];
}

/** How long a forwarded request may wait at each stage, and how health is checked. Server settings (serve flags). */
export interface ProviderTimeouts {
  /** TCP (and TLS) connection. */
  connectMs: number;
  /** From the request sent to the response's headers (a non-streamed answer comes whole, so this is generous). */
  firstByteMs: number;
  /** Between two chunks of a response body. */
  idleMs: number;
  /** A whole health check (GET /models). */
  healthMs: number;
  /** Between health checks of a provider that answers. */
  refreshMs: number;
}

export const DEFAULT_PROVIDER_TIMEOUTS: ProviderTimeouts = {
  connectMs: 5_000,
  firstByteMs: 300_000,
  idleMs: 120_000,
  healthMs: 5_000,
  refreshMs: 60_000,
};
