/**
 * A client that goes away (closes the socket, streaming or not) aborts its request at once, so the engine frees its
 * KV pages at the next step instead of generating for nobody.
 */
import type { FastifyReply } from 'fastify';

export function abortOnDisconnect(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  // 'close' also follows a normal finish (keep-alive): only a close before the response was fully written is a
  // disconnect.
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller;
}
