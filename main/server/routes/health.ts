/**
 * GET /health (no auth): 200 `{status: 'ok', model}` while a model is loaded and serving, 503 with the reason while
 * one loads, when none is loaded, or after a failed load. GET /api/health (no auth either): the process is up, and the
 * WebGPU adapter it runs on (the app shows it before any model loads).
 */
import type { PlasApp, RouteDeps } from './deps.ts';

export function healthRoutes(app: PlasApp, deps: RouteDeps): void {
  app.get('/health', async (_request, reply) => {
    const reason = deps.manager.notReady();
    if (reason !== null) return reply.code(503).send({ status: 'unavailable', reason });
    return { status: 'ok', model: deps.manager.loaded()?.name ?? null };
  });
  app.get('/api/health', async () => ({
    status: 'ok',
    adapter: deps.adapter,
    features: deps.features,
    model: deps.manager.loaded()?.name ?? null,
    notReady: deps.manager.notReady(),
  }));
}
