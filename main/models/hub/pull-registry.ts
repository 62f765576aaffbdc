/**
 * Downloads in flight in the server, by id, so DELETE /api/models/pull/:id can cancel one, and so the same model is
 * not pulled twice at once (two writers on one .incomplete file would interleave their bytes).
 */
import { randomUUID } from 'node:crypto';

export interface ActivePull {
  id: string;
  repo: string;
  controller: AbortController;
}

export class PullRegistry {
  private readonly pulls = new Map<string, ActivePull>();

  /** A new pull of `repo`, or null when one is already running (its id is then `running(repo)`). */
  start(repo: string): ActivePull | null {
    if (this.running(repo)) return null;
    const pull = { id: randomUUID(), repo, controller: new AbortController() };
    this.pulls.set(pull.id, pull);
    return pull;
  }

  running(repo: string): ActivePull | undefined {
    return [...this.pulls.values()].find((p) => p.repo === repo);
  }

  finish(id: string): void {
    this.pulls.delete(id);
  }

  /** false when no pull has that id (finished, or never started). */
  cancel(id: string): boolean {
    const pull = this.pulls.get(id);
    pull?.controller.abort();
    return pull !== undefined;
  }

  cancelAll(): void {
    for (const pull of this.pulls.values()) pull.controller.abort();
  }
}
