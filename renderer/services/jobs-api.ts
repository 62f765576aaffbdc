/**
 * Server jobs (/api/jobs): start a gate training for the loaded model, follow its progress (server-sent events),
 * cancel it. Stateless: the gate-training store keeps what the page shows.
 */

import type { GateTrainProgress, GateTrainRequest, GateTrainJob as Job } from '../../main/server/jobs/job-types.ts';
import { apiCall } from './api-call.ts';
import { errorFrom } from './errors.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';

// The /api/jobs shapes are the server's own (an import-free types file), so the two sides cannot drift apart.
export type {
  GateTrainJob as Job,
  GateTrainProgress,
  GateTrainRequest,
  GateTrainResult,
  JobState,
} from '../../main/server/jobs/job-types.ts';

/** What following a job calls back with (the renderer's own: the stream's `state`/`progress`/end events, folded). */
export type JobUpdate = { kind: 'progress'; progress: GateTrainProgress } | { kind: 'end'; job: Job };

const jobPath = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;

export const jobsApi = {
  startGateTraining: async (body: GateTrainRequest) =>
    (await apiCall<{ job: Job }>('/api/jobs/gate-train', { method: 'POST', body: JSON.stringify(body) })).job,
  list: async () => (await apiCall<{ jobs: Job[] }>('/api/jobs')).jobs,
  get: async (id: string) => (await apiCall<{ job: Job }>(jobPath(id))).job,
  /** Resolves once the job has stopped, with its final state. */
  cancel: async (id: string) => (await apiCall<{ job: Job }>(jobPath(id), { method: 'DELETE' })).job,

  /** Calls `update` with each progress and the end; resolves with the ended job (or null if the stream broke). */
  async follow(id: string, update: (u: JobUpdate) => void, signal?: AbortSignal): Promise<Job | null> {
    const response = await fetch(`${jobPath(id)}/events`, { headers: authHeaders(), signal });
    if (!response.ok || !response.body) throw await errorFrom(response);
    for await (const message of readSse(response.body, signal)) {
      const data = JSON.parse(message.data);
      if (message.event === 'progress') update({ kind: 'progress', progress: data.progress });
      else if (message.event === 'state') {
        if (data.job.progress) update({ kind: 'progress', progress: data.job.progress });
      } else {
        update({ kind: 'end', job: data.job });
        return data.job as Job;
      }
    }
    return null;
  },
};
