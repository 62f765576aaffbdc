/**
 * One download from the hub at a time, from the Models page: its progress (bytes of the whole pull, the file now
 * fetched, a speed and time left), Cancel (the partial file stays on disk and the next pull of the same model resumes
 * it), and what it ended with: the model registered, or why not.
 */
import { type DownloadProgress, discoverApi, PullFailed } from '../services/discover-api.ts';
import { describe } from '../services/errors.ts';
import { discover } from './discover.svelte.ts';
import { models } from './models.svelte.ts';

export type DownloadOutcome =
  | { kind: 'added'; message: string }
  | { kind: 'downloaded'; message: string }
  | { kind: 'cancelled'; message: string }
  | { kind: 'failed'; message: string };

class DownloadStore {
  #running = $state(false);
  #repo = $state('');
  #id = $state<string | null>(null);
  #progress = $state<DownloadProgress | null>(null);
  #startedAt = 0;
  #outcome = $state<DownloadOutcome | null>(null);
  #controller: AbortController | null = null;
  #cancelling = false;

  get running(): boolean {
    return this.#running;
  }
  get repo(): string {
    return this.#repo;
  }
  get progress(): DownloadProgress | null {
    return this.#progress;
  }
  get outcome(): DownloadOutcome | null {
    return this.#outcome;
  }
  /** Seconds left at the speed so far; null until there is a speed. */
  get secondsLeft(): number | null {
    const p = this.#progress;
    const seconds = (performance.now() - this.#startedAt) / 1000;
    if (!p || p.fetchedBytes === 0 || seconds <= 0) return null;
    return (p.totalBytes - p.doneBytes) / (p.fetchedBytes / seconds);
  }

  async start(repo: string, file?: string): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#repo = repo;
    this.#id = null;
    this.#progress = null;
    this.#outcome = null;
    this.#cancelling = false;
    this.#startedAt = performance.now();
    this.#controller = new AbortController();
    try {
      const done = await discoverApi.pull(
        { repo, ...(file ? { file } : {}) },
        {
          start: (s) => {
            this.#id = s.id;
            this.#progress = {
              file: s.files[0]?.path ?? '',
              fileIndex: 0,
              fileCount: s.files.length,
              doneBytes: 0,
              totalBytes: s.totalBytes,
              fetchedBytes: 0,
            };
          },
          progress: (p) => {
            this.#progress = p;
          },
        },
        this.#controller.signal,
      );
      this.#outcome = done.model
        ? { kind: 'added', message: `Downloaded ${repo} and added it as ${done.model.name}.` }
        : {
            kind: 'downloaded',
            message: `Downloaded ${repo} to ${done.snapshot}; ${done.notRegistered ?? 'not added'}.`,
          };
      await Promise.all([models.refresh(), discover.refresh()]);
    } catch (error) {
      const cancelled = this.#cancelling || (error instanceof PullFailed && error.code === 'cancelled');
      this.#outcome = cancelled
        ? {
            kind: 'cancelled',
            message: `Cancelled. What was downloaded of ${repo} is kept; download it again to resume.`,
          }
        : { kind: 'failed', message: `Could not download ${repo}: ${describe(error)}` };
    } finally {
      this.#running = false;
      this.#controller = null;
    }
  }

  /** Asks the server to stop (the stream then ends with `cancelled`); closing the stream stops it too. */
  async cancel(): Promise<void> {
    if (!this.#running) return;
    this.#cancelling = true;
    const id = this.#id;
    if (id) {
      try {
        await discoverApi.cancelPull(id);
        return;
      } catch {
        // finished meanwhile, or unknown: closing the stream below stops whatever is left
      }
    }
    this.#controller?.abort();
  }
}

export const download = new DownloadStore();
