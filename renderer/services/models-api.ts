/**
 * The models part of the management API (/api/models, token-guarded): a stateless client, one function per route the
 * Models page uses, plus what the page's header shows (the GPU adapter, the loaded model's gate).
 */

import type { MemoryEstimate } from '../../main/server/models/estimate-types.ts';
import type { PlasState } from '../../main/server/routes/api-plas-types.ts';
import { apiCall } from './api-call.ts';
import { errorFrom } from './errors.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';
import type { Health, ModelSummary } from './types.ts';

/** GET /api/models/:name/estimate: GPU memory for the weights and the KV cache at a context. */
export type { MemoryEstimate } from '../../main/server/models/estimate-types.ts';

/** What GET /api/plas says about the loaded model's gate (the rest is the Tuning page's). */
export type GateView = Pick<PlasState, 'model' | 'backend' | 'plasAvailable' | 'gate'>;

const modelPath = (name: string) => `/api/models/${encodeURIComponent(name)}`;
const json = (body: unknown) => JSON.stringify(body);

export const modelsApi = {
  list: async () => (await apiCall<{ models: ModelSummary[] }>('/api/models')).models,
  add: (path: string, name?: string) =>
    apiCall<ModelSummary>('/api/models', { method: 'POST', body: json(name ? { path, name } : { path }) }),
  /** Unregisters; the files stay. */
  remove: (name: string) => apiCall<{ deleted: string }>(modelPath(name), { method: 'DELETE' }),
  /** Deletes the folder's files (the server checks it may); `confirm` must repeat the name. */
  deleteFiles: (name: string, confirm: string) =>
    apiCall<{ deleted: string; folder: string; files: string[] }>(`${modelPath(name)}/files`, {
      method: 'DELETE',
      body: json({ confirm }),
    }),
  estimate: (name: string, context: number) =>
    apiCall<MemoryEstimate>(`${modelPath(name)}/estimate?context=${context}`),
  unload: (name: string) => apiCall<{ unloaded: boolean }>(`${modelPath(name)}/unload`, { method: 'POST' }),
  health: () => apiCall<Health>('/api/health'),
  gate: () => apiCall<GateView>('/api/plas'),

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
