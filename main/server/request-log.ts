/** The last requests, newest first, for the app's Server page (GET /api/requests). Memory only: numbers, no text. */
import type { RequestLog, RequestRecord } from './context.ts';

/**
 * Strings come from clients (a request's `model` may be megabytes of junk): the log keeps a bounded prefix, so 200
 * entries can never pin more than a few kilobytes.
 */
const MAX_TEXT = 256;
// A slice of a long string can keep the whole string alive (V8's sliced strings): copy the prefix out.
const clip = (s: string) => (s.length > MAX_TEXT ? `${Buffer.from(s.slice(0, MAX_TEXT)).toString()}…` : s);

export class RecentRequests implements RequestLog {
  private readonly entries: Required<RequestRecord>[] = [];

  constructor(private readonly capacity = 200) {}

  record(entry: RequestRecord): void {
    // Copy the known fields only: a caller's object may carry more (a prompt must never end up here).
    this.entries.unshift({
      route: clip(entry.route),
      model: clip(entry.model),
      status: entry.status,
      promptTokens: entry.promptTokens,
      completionTokens: entry.completionTokens,
      ttftMs: entry.ttftMs,
      tokensPerSecond: entry.tokensPerSecond,
      outcome: clip(entry.outcome),
      durationMs: entry.durationMs,
      at: entry.at ?? Date.now(),
    });
    if (this.entries.length > this.capacity) this.entries.length = this.capacity;
  }

  list(limit = this.capacity): Required<RequestRecord>[] {
    return this.entries.slice(0, limit);
  }
}
