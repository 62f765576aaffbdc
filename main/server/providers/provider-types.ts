/** A remote provider as /api/providers shows it (notes/providers.md): never its key, only whether it has one. */
import type { ProviderKind } from '../../store/providers-repo.ts';

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
  status: ProviderStatus;
  /** The provider's own model ids (without the NAME/ prefix). */
  models: string[];
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
