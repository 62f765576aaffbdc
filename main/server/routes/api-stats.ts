/**
 * GET /api/stats/stream: server-sent `stats` events once a second for the app's live charts: the loaded engine's
 * stats(), or `{model: null, reason}` when none is loaded. Ends when the client goes away or the server stops.
 */
import { openSse } from '../sse.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

const INTERVAL_MS = 1000;

export function apiStatsRoutes(app: PlasApp, deps: RouteDeps): void {
  app.get('/api/stats/stream', async (_request, reply) => {
    const sse = openSse(reply, deps.shutdown);
    const tick = () => {
      const loaded = deps.manager.loaded();
      sse.send(
        'stats',
        loaded
          ? { model: loaded.name, at: Date.now(), stats: loaded.engine.stats() }
          : { model: null, at: Date.now(), reason: deps.manager.notReady() },
      );
    };
    tick();
    const timer = setInterval(tick, INTERVAL_MS);
    sse.closed.addEventListener('abort', () => clearInterval(timer), { once: true });
  });
}
