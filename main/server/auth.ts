/**
 * Who may call what:
 * - `/api/*` (the app's management API) needs the management token: `Authorization: Bearer <token>`,
 *   `X-PLAS-Token: <token>`, or `?token=<token>` (EventSource cannot set headers). `/api/health` stays open.
 * - `/v1/*` and `/metrics` need `Authorization: Bearer <api key>` when the server runs with --api-key.
 * The management token also opens /v1 and /metrics: the app's own pages use one credential.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-error.ts';
import { safeEqual } from './secrets.ts';

export interface AuthOptions {
  token: string;
  apiKey?: string;
}

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m ? m[1].trim() : undefined;
}

function queryToken(request: FastifyRequest): string | undefined {
  const t = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof t === 'string' ? t : undefined;
}

function headerToken(request: FastifyRequest): string | undefined {
  const t = request.headers['x-plas-token'];
  return typeof t === 'string' ? t : undefined;
}

export function hasManagementToken(request: FastifyRequest, token: string): boolean {
  // Every candidate is compared, so which header was used does not show in the timing either.
  const results = [bearer(request), headerToken(request), queryToken(request)].map((t) => safeEqual(t, token));
  return results.some(Boolean);
}

/**
 * The paths a request may be judged by: the matched route's pattern and the raw path. The pattern matters because the
 * router decodes the path (`/%61pi/models` matches `/api/models`): a check on the raw path alone could be walked past.
 */
function paths(request: FastifyRequest): string[] {
  const raw = request.url.split('?')[0];
  const route = request.routeOptions.url;
  return route === undefined ? [raw] : [route, raw];
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.addHook('onRequest', async (request) => {
    const all = paths(request);
    const isApi = all.some((p) => p.startsWith('/api/') && p !== '/api/health');
    if (isApi) {
      if (!hasManagementToken(request, options.token)) {
        throw new HttpError(
          401,
          'the management API needs the token printed at launch (Authorization: Bearer, X-PLAS-Token or ?token=)',
          'authentication_error',
          null,
          'invalid_token',
        );
      }
      return;
    }
    const guarded = all.some((p) => p.startsWith('/v1/') || p === '/v1' || p === '/metrics');
    if (guarded && options.apiKey !== undefined) {
      const key = bearer(request);
      if (!safeEqual(key, options.apiKey) && !hasManagementToken(request, options.token)) {
        throw new HttpError(
          401,
          key === undefined
            ? 'this server needs an API key: send Authorization: Bearer <key>'
            : 'incorrect API key provided',
          'invalid_request_error',
          null,
          'invalid_api_key',
        );
      }
    }
  });
}
