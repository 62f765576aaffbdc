/**
 * The shapes /api/jobs answers with (a job, gate training's progress and result) and the body POST
 * /api/jobs/gate-train takes. This file imports nothing: the renderer imports its types too (`import type`), so the
 * two sides cannot drift apart.
 */

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** A job as GET /api/jobs/:id and the events stream send it. */
export interface JobView<P = unknown, R = unknown> {
  id: string;
  kind: string;
  model: string;
  state: JobState;
  options: unknown;
  progress: P | null;
  result: R | null;
  /** Why it failed (plain words), or null. */
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface GateTrainProgress {
  phase: 'prepare' | 'capture' | 'train' | 'write';
  /** Windows captured of all (capture), or layers started of all (train); 1-based. */
  window?: number;
  windows?: number;
  layer?: number;
  layers?: number;
  step?: number;
  steps?: number;
  /** The training loss at this step. */
  loss?: number;
  /** Of the whole job, in [0, 1]. */
  fraction: number;
  elapsedSeconds: number;
  /** Seconds left, extrapolated from the time so far (null until there is enough to go on). */
  etaSeconds: number | null;
}

/** Loss and block recall on the held-out windows, before (mean pooling) and after, averaged over the layers. */
export interface GateHeldOut {
  lossBefore: number;
  lossAfter: number;
  recallBefore: number;
  recallAfter: number;
}

export interface GateTrainResult {
  file: string;
  /** The previous gate file, kept (null when the folder had none). */
  backup: string | null;
  blockSize: number;
  windows: { train: number; holdout: number; length: number };
  heldOut: GateHeldOut;
  layers: ({ layer: number } & GateHeldOut)[];
  seconds: number;
}

/** A gate-training job as the app follows it. */
export type GateTrainJob = JobView<GateTrainProgress, GateTrainResult>;

/** POST /api/jobs/gate-train's body (api-jobs.ts's schema is checked to be exactly this). */
export interface GateTrainRequest {
  model: string;
  tokens?: number;
  steps?: number;
  /** Tokens per window. */
  length?: number;
  queries?: number;
  blockSize?: number;
  retrievalFraction?: number;
  seed?: number;
}
