/**
 * When a provider is checked next: every refreshMs while it answers; when it is down, soon at first and then less
 * often (5 s doubling up to refreshMs, at most 5 min), so a provider that is off for the night is not polled every
 * few seconds, and one that comes back shows up quickly.
 */
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 300_000;

export function nextCheckDelay(ok: boolean, failuresInARow: number, refreshMs: number): number {
  if (ok) return refreshMs;
  const backoff = FIRST_RETRY_MS * 2 ** Math.max(0, failuresInARow - 1);
  return Math.min(backoff, Math.max(refreshMs, FIRST_RETRY_MS), MAX_RETRY_MS);
}

/** One timer per provider; replaced when rescheduled, all cleared at close. Timers never hold the process open. */
export class RefreshSchedule {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(private readonly run: (name: string) => void) {}

  at(name: string, delayMs: number): void {
    if (this.#closed) return;
    this.cancel(name);
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      this.run(name);
    }, delayMs);
    timer.unref();
    this.#timers.set(name, timer);
  }

  cancel(name: string): void {
    const timer = this.#timers.get(name);
    if (timer) clearTimeout(timer);
    this.#timers.delete(name);
  }

  close(): void {
    this.#closed = true;
    for (const name of [...this.#timers.keys()]) this.cancel(name);
  }
}
