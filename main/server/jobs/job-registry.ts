/**
 * Long-running work the app starts on the server (gate training today): one job at a time per model, each with a
 * state (queued -> running -> done | failed | cancelled), its latest progress and its result. Listeners get every
 * progress update and the end; a cancel aborts the job's signal and resolves once the job has stopped.
 *
 * The registry is kept per model manager (one per server) so the model routes can refuse to unload a model a job is
 * training on, without threading another dependency through every route.
 */
import { randomBytes } from 'node:crypto';
import type { JobState, JobView } from './job-types.ts';

// The shapes the routes send live in an import-free file the renderer imports too.
export type { JobState, JobView } from './job-types.ts';

export type JobListener = (event: 'progress' | 'end', job: JobView) => void;

export interface JobContext<P> {
  signal: AbortSignal;
  progress(update: P): void;
}

/** A job for this model is already queued or running. */
export class JobConflictError extends Error {
  override name = 'JobConflictError';
  constructor(readonly running: JobView) {
    super(
      `a ${running.kind} job (${running.id}) is already ${running.state} for '${running.model}': wait for it to ` +
        `finish or cancel it (DELETE /api/jobs/${running.id})`,
    );
  }
}

interface Entry {
  view: JobView;
  controller: AbortController;
  listeners: Set<JobListener>;
  finished: Promise<void>;
}

const ACTIVE: ReadonlySet<JobState> = new Set(['queued', 'running']);
/** Finished jobs kept for GET /api/jobs/:id (the oldest are forgotten first). */
const KEEP_FINISHED = 20;

export class JobRegistry {
  private readonly jobs = new Map<string, Entry>();

  /** Starts `run` as a job for `model`; JobConflictError when one is queued or running for it. */
  start<P, R>(kind: string, model: string, options: unknown, run: (ctx: JobContext<P>) => Promise<R>): JobView<P, R> {
    const running = this.activeFor(model);
    if (running) throw new JobConflictError(running);
    const view: JobView = {
      id: `job_${randomBytes(9).toString('base64url')}`,
      kind,
      model,
      state: 'queued',
      options,
      progress: null,
      result: null,
      error: null,
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
    };
    const entry: Entry = { view, controller: new AbortController(), listeners: new Set(), finished: Promise.resolve() };
    this.jobs.set(view.id, entry);
    this.forgetOld();
    const signal = entry.controller.signal;
    entry.finished = (async () => {
      await Promise.resolve(); // the caller gets the queued job before any work runs
      try {
        signal.throwIfAborted();
        view.state = 'running';
        view.startedAt = Date.now();
        view.result = await run({
          signal,
          progress: (update: P) => {
            if (view.state !== 'running') return;
            view.progress = update;
            for (const l of entry.listeners) l('progress', view);
          },
        });
        view.state = 'done';
      } catch (error) {
        if (signal.aborted) view.state = 'cancelled';
        else {
          view.state = 'failed';
          view.error = (error as Error)?.message ?? String(error);
        }
      } finally {
        view.finishedAt = Date.now();
        for (const l of entry.listeners) l('end', view);
        entry.listeners.clear();
      }
    })();
    return view as JobView<P, R>;
  }

  get(id: string): JobView | undefined {
    return this.jobs.get(id)?.view;
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((e) => e.view).reverse();
  }

  /** The queued or running job for a model, if any. */
  activeFor(model: string): JobView | undefined {
    for (const e of this.jobs.values()) if (e.view.model === model && ACTIVE.has(e.view.state)) return e.view;
    return undefined;
  }

  /** Listens to a job until it ends; returns the unsubscribe (a finished job gets no events). */
  subscribe(id: string, listener: JobListener): () => void {
    const entry = this.jobs.get(id);
    if (!entry || !ACTIVE.has(entry.view.state)) return () => {};
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }

  /** Aborts a job and waits until it has stopped; its view then says cancelled (or done, when it had finished). */
  async cancel(id: string): Promise<JobView | undefined> {
    const entry = this.jobs.get(id);
    if (!entry) return undefined;
    entry.controller.abort(new Error('cancelled'));
    await entry.finished;
    return entry.view;
  }

  /** Aborts every job (server shutdown) and waits for them to stop. */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.jobs.keys()].map((id) => this.cancel(id)));
  }

  private forgetOld(): void {
    const finished = [...this.jobs.values()].filter((e) => !ACTIVE.has(e.view.state));
    for (const e of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(e.view.id);
  }
}

const registries = new WeakMap<object, JobRegistry>();

/** The jobs of one server, keyed by its model manager. */
export function jobsOf(manager: object): JobRegistry {
  let registry = registries.get(manager);
  if (!registry) {
    registry = new JobRegistry();
    registries.set(manager, registry);
  }
  return registry;
}
