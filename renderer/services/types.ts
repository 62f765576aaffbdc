/** The shapes the server answers with (main/server/routes/*.ts and main/server/v1/*.ts). */
export interface ModelSummary {
  name: string;
  path: string;
  architecture: string;
  parameters: number;
  dtype: string;
  contextLength: number;
  sizeBytes: number;
  loaded: boolean;
  addedAt: number;
}

export interface ServerSettings {
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
  limits: Record<string, number>;
}

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
