/**
 * Models already on this computer and downloads from a Hugging Face hub (/api/models/discover, /api/models/pull;
 * token-guarded): a stateless client, one function per route the Models page uses.
 */

import type { PullProgress } from '../../main/models/hub/pull-types.ts';
import type {
  DiscoverResponse,
  PullDoneEvent as PullDone,
  PullStartEvent as PullStart,
} from '../../main/server/routes/api-discover-types.ts';
import { apiCall } from './api-call.ts';
import { errorFrom } from './errors.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';

// The discovery and pull shapes are the server's own (import-free types files), so the two sides cannot drift apart.
export type { PullProgress } from '../../main/models/hub/pull-types.ts';
export type {
  DiscoveredListing as DiscoveredModel,
  DiscoverResponse,
  PullDoneEvent as PullDone,
  PullStartEvent as PullStart,
} from '../../main/server/routes/api-discover-types.ts';

/** What the Models page shows of a pull's progress (its own view: it does not show the current file's bytes). */
export type DownloadProgress = Omit<PullProgress, 'fileBytes' | 'fileTotal'>;

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
