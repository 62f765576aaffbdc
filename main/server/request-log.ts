/**
 * The last requests, newest first, for the app's Server and Tuning pages (GET /api/requests). Memory only: numbers,
 * no text.
 */
import type { RequestLog } from './context.ts';
import type { LoggedRequest, RequestAttention, RequestRecord } from './server-types.ts';

export type { LoggedRequest } from './server-types.ts';

/**
 * Strings come from clients (a request's `model` may be megabytes of junk): the log keeps a bounded prefix, so 200
 * entries can never pin more than a few kilobytes.
 */
const MAX_TEXT = 256;
// A slice of a long string can keep the whole string alive (V8's sliced strings): copy the prefix out.
const clip = (s: string) => (s.length > MAX_TEXT ? `${Buffer.from(s.slice(0, MAX_TEXT)).toString()}…` : s);

/** A number from the engine, or null (never a string or an object a caller slipped in). */
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function copyAttention(a: RequestAttention | undefined): RequestAttention | null {
  if (!a) return null;
  return {
    backend: a.backend === 'plas' ? 'plas' : 'dense',
    prefillDensity: num(a.prefillDensity) ?? 1,
    decodeDensity: num(a.decodeDensity) ?? 1,
    layerDensity: { prefill: a.layerDensity.prefill.map(num), decode: a.layerDensity.decode.map(num) },
  };
}

export class RecentRequests implements RequestLog {
  private readonly entries: LoggedRequest[] = [];
  private nextId = 1;

  constructor(private readonly capacity = 200) {}

  record(entry: RequestRecord): void {
    // Copy the known fields only: a caller's object may carry more (a prompt must never end up here).
    this.entries.unshift({
      id: this.nextId++,
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
      attention: copyAttention(entry.attention),
    });
    if (this.entries.length > this.capacity) this.entries.length = this.capacity;
  }

  list(limit = this.capacity): LoggedRequest[] {
    return this.entries.slice(0, limit);
  }
}
