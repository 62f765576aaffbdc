/**
 * The recent requests the Tuning page charts and the Server page lists (GET /api/requests), polled every 2 s while a
 * page that shows them is open and the tab visible, so a reply sent from Chat, from the A/B or from another app shows up by itself.
 */
import { describe } from '../services/errors.ts';
import { type LoggedRequest, tuningApi } from '../services/tuning-api.ts';

const POLL_MS = 2000;
/** Columns of the heatmap and points of the chart: enough to see a trend, few enough to read each one. */
export const RECENT = 30;

class RecentRequestsStore {
  #requests = $state<LoggedRequest[]>([]);
  #fetched = $state(false);
  #error = $state<string | null>(null);
  #timer: ReturnType<typeof setInterval> | null = null;
  #users = 0;

  /** Requests that generated (they have an attention report), oldest first, the last RECENT of them. */
  get generated(): LoggedRequest[] {
    return this.#requests
      .filter((r) => r.attention !== null && r.completionTokens > 0)
      .slice(0, RECENT)
      .reverse();
  }
  /** Every request the server logged (failed ones too), newest first: the Server page's list. */
  get all(): LoggedRequest[] {
    return this.#requests;
  }
  get fetched(): boolean {
    return this.#fetched;
  }
  get error(): string | null {
    return this.#error;
  }

  async refresh(): Promise<void> {
    if (document.hidden) return;
    try {
      const next = await tuningApi.requests(RECENT * 2);
      // Keep the array (and every chart drawn from it) when nothing new arrived.
      if (next[0]?.id !== this.#requests[0]?.id || next.length !== this.#requests.length) this.#requests = next;
      this.#error = null;
    } catch (error) {
      this.#error = describe(error);
    } finally {
      this.#fetched = true;
    }
  }

  /** Starts polling for a component; the returned function stops it (polling ends with the last user). */
  watch(): () => void {
    this.#users++;
    if (this.#users === 1) {
      void this.refresh();
      this.#timer = setInterval(() => void this.refresh(), POLL_MS);
    }
    return () => {
      this.#users--;
      if (this.#users === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }
}

export const recentRequests = new RecentRequestsStore();
