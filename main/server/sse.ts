/**
 * Server-sent events on a hijacked reply: the headers fastify would have sent (CORS) go out with the stream, each event
 * is `event: <name>\ndata: <json>\n\n`, and `closed` aborts when the client goes away or the server shuts down.
 */
import type { FastifyReply } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown): void;
  end(): void;
  /** Aborted when the client disconnects, the stream ends, or `shutdown` aborts. */
  readonly closed: AbortSignal;
}

export function openSse(reply: FastifyReply, shutdown?: AbortSignal): SseStream {
  reply.hijack();
  const raw = reply.raw;
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // Reverse proxies (nginx) must not buffer the stream.
    'x-accel-buffering': 'no',
  });
  raw.flushHeaders();
  const controller = new AbortController();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    controller.abort();
    shutdown?.removeEventListener('abort', end);
    raw.end();
  };
  raw.on('close', end);
  shutdown?.addEventListener('abort', end, { once: true });
  if (shutdown?.aborted) end();
  return {
    send(event, data) {
      if (!ended) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end,
    closed: controller.signal,
  };
}
