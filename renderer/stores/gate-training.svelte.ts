/**
 * Gate training from the Tuning page: the options, the job on the server (started, followed through its events,
 * cancelled), its result, and "reload with the new gate" (unload + load, then the gate read back from /api/plas).
 * A job still running when the page is opened again is picked up where it is.
 */
import { describe } from '../services/errors.ts';
import { type GateTrainProgress, type Job, jobsApi } from '../services/jobs-api.ts';
import { modelsApi } from '../services/models-api.ts';
import { models } from './models.svelte.ts';

export const GATE_DEFAULTS = { tokens: 16384, steps: 200 };
export const GATE_LIMITS = { tokens: { min: 256, max: 1 << 20 }, steps: { min: 1, max: 5000 } };

class GateTrainingStore {
  tokens = $state(GATE_DEFAULTS.tokens);
  steps = $state(GATE_DEFAULTS.steps);
  #job = $state<Job | null>(null);
  #progress = $state<GateTrainProgress | null>(null);
  #error = $state<string | null>(null);
  #cancelling = $state(false);
  #reload = $state<'idle' | 'reloading' | 'done'>('idle');
  /** The gate the engine reports after the reload. */
  #gate = $state<string | null>(null);
  #following: AbortController | null = null;

  get job(): Job | null {
    return this.#job;
  }
  get progress(): GateTrainProgress | null {
    return this.#progress;
  }
  get error(): string | null {
    return this.#error;
  }
  get cancelling(): boolean {
    return this.#cancelling;
  }
  get running(): boolean {
    return this.#job?.state === 'queued' || this.#job?.state === 'running';
  }
  get reload(): 'idle' | 'reloading' | 'done' {
    return this.#reload;
  }
  get gate(): string | null {
    return this.#gate;
  }

  /** Picks up a job for the loaded model that is still running (the page was left and opened again). */
  async resume(): Promise<void> {
    if (this.running) return;
    try {
      const loaded = models.loaded?.name;
      const job = (await jobsApi.list()).find(
        (j) => j.kind === 'gate-train' && j.model === loaded && (j.state === 'queued' || j.state === 'running'),
      );
      if (job) this.#follow(job);
    } catch {
      // Nothing to resume; a real problem shows when the user starts a training.
    }
  }

  async start(model: string): Promise<void> {
    this.#error = null;
    this.#reload = 'idle';
    this.#gate = null;
    this.#progress = null;
    const invalid = this.#check();
    if (invalid) {
      this.#error = invalid;
      return;
    }
    try {
      this.#follow(await jobsApi.startGateTraining({ model, tokens: this.tokens, steps: this.steps }));
    } catch (error) {
      this.#error = `Could not start the training: ${describe(error)}`;
    }
  }

  async cancel(): Promise<void> {
    const job = this.#job;
    if (!job || !this.running) return;
    this.#cancelling = true;
    try {
      this.#job = await jobsApi.cancel(job.id);
    } catch (error) {
      this.#error = `Could not cancel: ${describe(error)}`;
    } finally {
      this.#cancelling = false;
    }
  }

  /** Unloads and loads the model again, so the engine reads the new gate file; then reads the gate back. */
  async reloadWithNewGate(model: string): Promise<void> {
    this.#reload = 'reloading';
    this.#error = null;
    const ok = (await models.unload(model)) && (await models.load(model));
    if (!ok) {
      this.#reload = 'idle';
      this.#error = models.error ?? `Could not reload ${model}.`;
      return;
    }
    try {
      this.#gate = (await modelsApi.gate()).gate;
      this.#reload = 'done';
    } catch (error) {
      this.#reload = 'idle';
      this.#error = `Reloaded, but could not read the gate back: ${describe(error)}`;
    }
  }

  #check(): string | null {
    const { tokens, steps } = GATE_LIMITS;
    if (!Number.isInteger(this.tokens) || this.tokens < tokens.min || this.tokens > tokens.max) {
      return `Tokens must be a whole number from ${tokens.min} to ${tokens.max.toLocaleString('en-US')}.`;
    }
    if (!Number.isInteger(this.steps) || this.steps < steps.min || this.steps > steps.max) {
      return `Steps must be a whole number from ${steps.min} to ${steps.max.toLocaleString('en-US')}.`;
    }
    return null;
  }

  #follow(job: Job): void {
    this.#following?.abort();
    const controller = new AbortController();
    this.#following = controller;
    this.#job = job;
    this.#progress = job.progress;
    jobsApi
      .follow(
        job.id,
        (u) => {
          if (u.kind === 'progress') this.#progress = u.progress;
          else this.#job = u.job;
        },
        controller.signal,
      )
      .then(async (ended) => {
        // A broken stream: ask for the job as it is now.
        if (!ended && !controller.signal.aborted) this.#job = await jobsApi.get(job.id);
      })
      .catch((error) => {
        if (!controller.signal.aborted) this.#error = `Lost track of the training: ${describe(error)}`;
      });
  }
}

export const gateTraining = new GateTrainingStore();
