/**
 * Starting a generation for a route: refuse when the engine's queue is already long (429, so a client backs off
 * instead of waiting minutes), start engine.generate with the request's abort signal, and for streams wait briefly
 * for the first event so errors found at the start (a grammar that does not compile, a closed engine) are still an
 * HTTP status rather than an error inside a 200 stream.
 */
import type { EngineEvent, GenerateRequest } from '../../../engine/serving/types.ts';
import type { ModelLease } from '../context.ts';
import { OpenAIError } from './openai-error.ts';
import type { Limits } from './request-mapping.ts';

/** How long a stream waits for its first event before sending its header anyway. */
export const FIRST_EVENT_WAIT_MS = 2000;

export function checkQueue(lease: ModelLease, limits: Limits): void {
  const cap = limits.maxWaiting;
  const { waiting } = lease.engine.stats();
  if (waiting >= cap) {
    throw new OpenAIError(
      429,
      `the server is busy: ${waiting} requests are waiting for the model '${lease.name}' (at most ${cap}); retry shortly`,
      'rate_limit_error',
      null,
      'queue_full',
      { 'retry-after': '1' },
    );
  }
}

const PENDING = Symbol('pending');

/**
 * The request's events. With `peekMs`, the first event (or the error that ends the request at its start) is awaited
 * up to that long first: an error then is thrown here.
 */
export async function startEvents(
  lease: ModelLease,
  request: GenerateRequest,
  signal: AbortSignal,
  peekMs = 0,
): Promise<AsyncIterator<EngineEvent>> {
  const events = lease.engine.generate(request, signal)[Symbol.asyncIterator]();
  if (peekMs <= 0) return events;
  const first = events.next();
  first.catch(() => {}); // awaited again below or by the reader; never an unhandled rejection meanwhile
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof PENDING>((resolve) => {
    timer = setTimeout(resolve, peekMs, PENDING);
  });
  try {
    await Promise.race([first, deadline]); // throws when the request failed at once
  } finally {
    clearTimeout(timer);
  }
  let replayed = false;
  return {
    next: () => {
      if (replayed) return events.next();
      replayed = true;
      return first;
    },
    return: (value?: unknown) => events.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
  };
}
