/**
 * Models already on this computer and downloads from a Hugging Face hub (/api/models/discover, /api/models/pull;
 * token-guarded): a stateless client, one function per route the Models page uses.
 */
import { errorFrom } from './errors.ts';
import { apiCall } from './models-api.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';
import type { ModelSummary } from './types.ts';

/** One model found in the Hugging Face cache, LM Studio, Ollama or an added folder (main/models/discovery/types.ts). */
export interface DiscoveredModel {
  source: 'huggingface' | 'lmstudio' | 'ollama' | 'folder';
  name: string;
  path: string;
  format: 'safetensors' | 'gguf';
  architecture: string | null;
  quantization: string | null;
  contextLength: number | null;
  sizeBytes: number;
  runnable: boolean;
  problems: string[];
  /** Its name in the registry when it is added already. */
  registered: string | null;
  suggestedName: string;
}

export interface DiscoverResponse {
  models: DiscoveredModel[];
  roots: { huggingface: string[]; lmstudio: string[]; ollama: string[]; folders: string[] };
}

export interface PullStart {
  id: string;
  repo: string;
  commit: string;
  files: { path: string; size: number }[];
  totalBytes: number;
}

export interface PullProgress {
  file: string;
  fileIndex: number;
  fileCount: number;
  doneBytes: number;
  totalBytes: number;
  fetchedBytes: number;
}

export interface PullDone {
  snapshot: string;
  paths: string[];
  fetchedBytes: number;
  model: ModelSummary | null;
  notRegistered: string | null;
}

export interface PullHandlers {
  start(start: PullStart): void;
  progress(progress: PullProgress): void;
}

/** A failed pull, with the server's code (auth, not_found, checksum, cancelled...). */
export class PullFailed extends Error {
  override name = 'PullFailed';
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

const folderCall = (method: 'POST' | 'DELETE', path: string) =>
  apiCall<{ folders: string[] }>('/api/models/discover/folders', { method, body: JSON.stringify({ path }) });

export const discoverApi = {
  list: () => apiCall<DiscoverResponse>('/api/models/discover'),
  addFolder: (path: string) => folderCall('POST', path),
  removeFolder: (path: string) => folderCall('DELETE', path),
  cancelPull: (id: string) =>
    apiCall<{ cancelled: string }>(`/api/models/pull/${encodeURIComponent(id)}`, { method: 'DELETE' }),

  /** Downloads a model; resolves with what landed (and what was registered), throws PullFailed with the reason. */
  async pull(
    body: { repo: string; file?: string; revision?: string },
    on: PullHandlers,
    signal?: AbortSignal,
  ): Promise<PullDone> {
    const response = await fetch('/api/models/pull', {
      method: 'POST',
      headers: { ...authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok || !response.body) throw await errorFrom(response);
    for await (const message of readSse(response.body, signal)) {
      const data = JSON.parse(message.data);
      if (message.event === 'start') on.start(data);
      else if (message.event === 'progress') on.progress(data);
      else if (message.event === 'done') return data as PullDone;
      else if (message.event === 'error') {
        throw new PullFailed(data.error?.message ?? 'the download failed', data.error?.code ?? null);
      }
    }
    throw new PullFailed('the server ended the download without saying whether it worked', null);
  },
};
