/**
 * Remote providers (/api/providers, token-guarded): a stateless client, one function per route, and the kinds the
 * Add form offers with the base URL each server listens on by default. A refusal names the field it is about
 * (`param` in the error body), so the form can show it beside that field.
 */
import { ApiError, errorFromBody } from './errors.ts';
import { authHeaders } from './token.ts';
import type { FastDeployPlasConfig, Provider, ProviderKind } from './types.ts';

/** An ApiError that knows which request field the server refused (null when it named none). */
export class ProviderRefusal extends ApiError {
  constructor(
    base: ApiError,
    readonly param: string | null,
  ) {
    super(base.message, base.status, base.code);
  }
}

export interface ProviderInput {
  name: string;
  baseUrl: string;
  kind?: ProviderKind;
  apiKey?: string;
  enabled?: boolean;
}

/** PATCH's fields; `apiKey: ""` removes the saved key. */
export type ProviderChange = Partial<Omit<ProviderInput, 'name'>>;

/** The kinds in the order the form lists them, with each server's usual address (the user can change it). */
export const PROVIDER_KINDS: readonly { kind: ProviderKind; label: string; baseUrl: string }[] = [
  { kind: 'vllm', label: 'vLLM', baseUrl: 'http://localhost:8000/v1' },
  { kind: 'fastdeploy', label: 'FastDeploy', baseUrl: 'http://localhost:8180/v1' },
  { kind: 'sglang', label: 'SGLang', baseUrl: 'http://localhost:30000/v1' },
  { kind: 'ollama', label: 'Ollama', baseUrl: 'http://localhost:11434/v1' },
  { kind: 'llama-server', label: 'llama-server (llama.cpp)', baseUrl: 'http://localhost:8080/v1' },
  { kind: 'lmstudio', label: 'LM Studio', baseUrl: 'http://localhost:1234/v1' },
  { kind: 'plas-studio', label: 'Another PLAS Studio', baseUrl: 'http://127.0.0.1:8188/v1' },
  { kind: 'openai', label: 'Other OpenAI-compatible server', baseUrl: '' },
];

export function kindLabel(kind: ProviderKind): string {
  return PROVIDER_KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { ...authHeaders(), ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  if (!response.ok) throw await refusal(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

async function refusal(response: Response): Promise<ProviderRefusal> {
  const text = await response.text().catch(() => '');
  let body: { message?: string; code?: string | null; param?: string | null } | undefined;
  try {
    body = JSON.parse(text).error;
  } catch {
    body = { message: text || `the server answered ${response.status} ${response.statusText}` };
  }
  return new ProviderRefusal(errorFromBody(body, response.status), body?.param ?? null);
}

const providerPath = (name: string) => `/api/providers/${encodeURIComponent(name)}`;
const json = (body: unknown) => JSON.stringify(body);

export const providersApi = {
  list: async () => (await call<{ providers: Provider[] }>('/api/providers')).providers,
  add: (input: ProviderInput) => call<Provider>('/api/providers', { method: 'POST', body: json(input) }),
  update: (name: string, change: ProviderChange) =>
    call<Provider>(providerPath(name), { method: 'PATCH', body: json(change) }),
  remove: (name: string) => call<void>(providerPath(name), { method: 'DELETE' }),
  /** A health check and a fresh model list, now. */
  check: (name: string) => call<Provider>(`${providerPath(name)}/check`, { method: 'POST' }),
  /** A local model's saved PLAS ranges as FastDeploy's --plas-attention-config and launch command. */
  plasConfig: (name: string, model: string) =>
    call<FastDeployPlasConfig>(`${providerPath(name)}/plas-config?model=${encodeURIComponent(model)}`),
};
