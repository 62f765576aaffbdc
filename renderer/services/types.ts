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

/** The kinds of remote provider (/api/providers, issue 18's contract in main/server/providers). */
export type ProviderKind =
  | 'openai'
  | 'fastdeploy'
  | 'vllm'
  | 'sglang'
  | 'ollama'
  | 'llama-server'
  | 'lmstudio'
  | 'plas-studio';

/** A provider's last health check; `error` is a sentence naming the provider and why it is down. */
export interface ProviderStatus {
  state: 'ok' | 'down' | 'checking' | 'disabled';
  latencyMs: number | null;
  checkedAt: number | null;
  error: string | null;
}

/** A remote OpenAI-compatible server whose models are offered as "NAME/MODEL". Never carries its key. */
export interface Provider {
  name: string;
  baseUrl: string;
  kind: ProviderKind;
  enabled: boolean;
  hasKey: boolean;
  status: ProviderStatus;
  /** The provider's own ids, without the NAME/ prefix. */
  models: string[];
}

/** GET /api/providers/:name/plas-config: a local model's saved PLAS ranges for FastDeploy's launch. */
export interface FastDeployPlasConfig {
  config: Record<string, number>;
  json: string;
  command: string;
  /** Whether the model had saved PLAS settings (false: the defaults are shown). */
  saved: boolean;
  /** What differs from here (FastDeploy's block size, keys it does not have), in sentences. */
  notes: string[];
}
