/**
 * Cross-origin access, closed by default. A browser page from another origin may call the server only when that
 * origin was given with --cors-origin ('*' allows any). Requests carrying a foreign Origin are refused outright (403),
 * not just left without CORS headers: a page cannot read the answer then, but a blind POST would still run a
 * generation on the user's GPU. Same-origin pages (the UI the server serves) and clients without an Origin pass.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-error.ts';

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, X-PLAS-Token';

/** "https://App.example:443/" -> "https://app.example"; throws on what is not an origin. */
export function normalizeOrigin(origin: string): string {
  if (origin === '*') return origin;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`--cors-origin ${JSON.stringify(origin)} is not an origin (like http://localhost:3000)`);
  }
  if (url.origin === 'null' || url.pathname.length > 1 || url.search || url.hash) {
    throw new Error(`--cors-origin ${JSON.stringify(origin)} is not an origin (like http://localhost:3000)`);
  }
  return url.origin;
}

function sameOrigin(origin: string, request: FastifyRequest): boolean {
  try {
    return new URL(origin).host === request.headers.host?.toLowerCase();
  } catch {
    return false;
  }
}

export function registerCors(app: FastifyInstance, allowed: readonly string[]): void {
  const any = allowed.includes('*');
  const origins = new Set(allowed.map(normalizeOrigin));
  const isAllowed = (origin: string) => {
    if (any) return true;
    try {
      return origins.has(normalizeOrigin(origin));
    } catch {
      return false;
    }
  };
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    const same = sameOrigin(origin, request);
    if (same && !preflight) return;
    if (!same && !isAllowed(origin)) {
      throw new HttpError(
        403,
        `cross-origin requests from ${origin} are not allowed (start the server with --cors-origin ${origin})`,
        'permission_error',
        null,
        'cors_origin_not_allowed',
      );
    }
    reply.header('access-control-allow-origin', any ? '*' : origin);
    reply.header('vary', 'Origin');
    if (preflight) {
      return reply
        .code(204)
        .headers({
          'access-control-allow-methods': ALLOW_METHODS,
          // The OpenAI SDKs send their own headers (x-stainless-*): an allowed origin may send what it asks for.
          'access-control-allow-headers': request.headers['access-control-request-headers'] ?? ALLOW_HEADERS,
          'access-control-max-age': '600',
        })
        .send();
    }
  });
}
