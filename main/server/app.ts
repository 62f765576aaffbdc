/**
 * The fastify app. Every request passes, in order: the Host check (DNS rebinding), CORS (closed unless
 * --cors-origin), auth (management token for /api, --api-key for /v1 and /metrics), then its route, whose TypeBox
 * schema validates the body (8 MiB at most). Every error leaves through one handler in OpenAI's error shape.
 */
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { registerAuth } from './auth.ts';
import type { ServerContext } from './context.ts';
import { registerCors } from './cors.ts';
import { registerErrorHandler } from './error-handler.ts';
import { registerHostCheck } from './host-check.ts';
import { apiChatRoutes } from './routes/api-chats.ts';
import { apiDiscoverRoutes } from './routes/api-discover.ts';
import { apiInfoRoutes } from './routes/api-info.ts';
import { apiJobRoutes } from './routes/api-jobs.ts';
import { apiModelRoutes } from './routes/api-models.ts';
import { apiPlasRoutes } from './routes/api-plas.ts';
import { apiProviderRoutes } from './routes/api-providers.ts';
import { apiStatsRoutes } from './routes/api-stats.ts';
import { apiTokenizeRoutes } from './routes/api-tokenize.ts';
import type { PlasApp, RouteDeps } from './routes/deps.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { registerV1Routes } from './v1/index.ts';

export const BODY_LIMIT_BYTES = 8 * 2 ** 20;

export interface AppOptions extends RouteDeps {
  token: string;
  apiKey?: string;
  corsOrigins?: string[];
  /** Extra Host header names to accept besides loopback (e.g. a LAN name the user configured). */
  allowedHosts?: string[];
}

export function buildApp(options: AppOptions): PlasApp {
  const app: PlasApp = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Streams end themselves at shutdown (see start.ts); idle keep-alive sockets must not hold the close.
    forceCloseConnections: 'idle',
  })
    .withTypeProvider()
    // TypeBox's own checker: bodies are checked strictly (no coercion, no silently dropped fields); query strings and
    // URL parameters are converted from their strings.
    .setValidatorCompiler(TypeBoxValidatorCompiler);

  registerErrorHandler(app);
  registerHostCheck(app, options.allowedHosts);
  registerCors(app, options.corsOrigins ?? []);
  registerAuth(app, { token: options.token, apiKey: options.apiKey });

  // /v1 routes count their own requests (with the outcome a stream ended in); every other response is counted here.
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !route.startsWith('/v1'))
      options.metrics.requestFinished(route ?? '(none)', reply.statusCode);
  });

  const ctx: ServerContext = {
    models: options.manager,
    metrics: options.metrics,
    settings: options.settings,
    requests: options.requests,
    providers: options.providers,
  };
  healthRoutes(app, options);
  metricsRoutes(app, options);
  apiModelRoutes(app, options);
  apiDiscoverRoutes(app, options); // models on this computer, downloads from a hub
  apiJobRoutes(app, options); // gate training as a job
  apiPlasRoutes(app, options);
  apiStatsRoutes(app, options);
  apiInfoRoutes(app, options);
  apiChatRoutes(app, options); // chats, search, presets, model settings
  apiTokenizeRoutes(app, options);
  if (options.providers) apiProviderRoutes(app, { ...options, providers: options.providers }); // remote providers
  registerV1Routes(app, ctx);
  app.register(import('./routes/static.ts')); // the UI at / (its default export; rebuilds a stale renderer/dist)
  return app;
}
