/**
 * The shapes the server answers with (main/server/routes/*.ts and main/server/v1/*.ts). Where the server declares one
 * in an import-free types file, it is re-exported from there (type-only: Vite erases it), so the two sides cannot
 * drift apart; what is declared here is the renderer's own view.
 */
export type {
  LoggedRequest,
  ModelSummary,
  RequestAttention,
  ServerInfo as ServerSettings,
} from '../../main/server/server-types.ts';

/** What the Models page shows of GET /api/health (the server also sends the adapter's GPU features). */
export interface Health {
  status: string;
  adapter: { vendor?: string; architecture?: string; description?: string; device?: string };
  model: string | null;
  notReady: string | null;
}

/** The `plas` field of a chat completion (its final streamed chunk). */
export interface PlasReport {
  backend: 'dense' | 'plas';
  prefill_density: number;
  decode_density: number;
  blocks_selected: number;
  blocks_candidate: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatMessageIn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

// Remote providers: the server's own shapes (a file of types that imports nothing), so the two sides cannot drift.
export type {
  PlasExport as FastDeployPlasConfig,
  Provider,
  ProviderKind,
  ProviderStatus,
} from '../../main/server/providers/provider-types.ts';
