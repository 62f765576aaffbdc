/** GET /metrics: Prometheus text (open on loopback; behind the API key when the server has one, see auth.ts). */
import type { PlasApp, RouteDeps } from './deps.ts';

export function metricsRoutes(app: PlasApp, deps: RouteDeps): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.render();
    return reply.type(deps.metrics.contentType).send(text);
  });
}
