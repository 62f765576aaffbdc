/**
 * GET /api/requests?limit=N: the recent requests, newest first (id, route, model, tokens, TTFT, tok/s, status, and
 * `attention`: backend, prefill and decode density, and per-layer density, for the Tuning page; never text).
 * GET /api/settings: how this server runs (flags, limits, data dir; whether an API key is set, never the key).
 */
import { Type } from 'typebox';
import type { PlasApp, RouteDeps } from './deps.ts';

const RequestsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});

export function apiInfoRoutes(app: PlasApp, deps: RouteDeps): void {
  app.get('/api/requests', { schema: { querystring: RequestsQuery } }, async (request) => ({
    requests: deps.requests.list(request.query.limit),
  }));
  app.get('/api/settings', async () => deps.info());
}
