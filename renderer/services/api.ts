/**
 * The management API (/api, token-guarded): a stateless client, one function per route the pages use.
 */
import { errorFrom } from './errors.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';
import type { Health, ModelSummary, PlasView, ServerSettings } from './types.ts';

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { ...authHeaders(), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}

const modelPath = (name: string) => `/api/models/${encodeURIComponent(name)}`;

export const api = {
  health: () => call<Health>('/api/health'),
  settings: () => call<ServerSettings>('/api/settings'),
  models: async () => (await call<{ models: ModelSummary[] }>('/api/models')).models,
  unload: (name: string) => call<{ unloaded: boolean }>(`${modelPath(name)}/unload`, { method: 'POST' }),
  plas: () => call<PlasView>('/api/plas'),

  /** Loads a model, calling `progress` with bytes uploaded; resolves when it is loaded, throws why it is not. */
  async load(name: string, progress: (loaded: number, total: number) => void, signal?: AbortSignal): Promise<void> {
    const response = await fetch(`${modelPath(name)}/load`, { method: 'POST', headers: authHeaders(), signal });
    if (!response.ok || !response.body) throw await errorFrom(response);
    for await (const message of readSse(response.body, signal)) {
      const data = JSON.parse(message.data);
      if (message.event === 'progress') progress(data.loaded, data.total);
      else if (message.event === 'done') return;
      else if (message.event === 'error') throw new Error(data.error?.message ?? 'the model failed to load');
    }
    throw new Error('the server ended the load without saying whether it worked');
  },
};
