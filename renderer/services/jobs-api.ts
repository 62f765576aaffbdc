/**
 * Server jobs (/api/jobs): start a gate training for the loaded model, follow its progress (server-sent events),
 * cancel it. Stateless: the gate-training store keeps what the page shows.
 */
import { errorFrom } from './errors.ts';
import { apiCall } from './models-api.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface GateTrainProgress {
  phase: 'prepare' | 'capture' | 'train' | 'write';
  window?: number;
  windows?: number;
  layer?: number;
  layers?: number;
  step?: number;
  steps?: number;
  loss?: number;
  fraction: number;
  elapsedSeconds: number;
  etaSeconds: number | null;
}

export interface GateTrainResult {
  file: string;
  backup: string | null;
  blockSize: number;
  windows: { train: number; holdout: number; length: number };
  heldOut: { lossBefore: number; lossAfter: number; recallBefore: number; recallAfter: number };
  layers: { layer: number; lossBefore: number; lossAfter: number; recallBefore: number; recallAfter: number }[];
  seconds: number;
}

export interface Job {
  id: string;
  kind: string;
  model: string;
  state: JobState;
  progress: GateTrainProgress | null;
  result: GateTrainResult | null;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface GateTrainRequest {
  model: string;
  tokens?: number;
  steps?: number;
}

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
