/**
 * The fastify app: for now the health endpoint reporting the engine's adapter. The OpenAI-compatible `/v1/*` routes,
 * the `/api/*` management routes and the UI arrive with the server issue.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { AdapterDescription, GpuFeatures } from '../../engine/gpu/device.ts';
import { hostAllowed } from './host-check.ts';

export interface ServerOptions {
  adapter: AdapterDescription;
  features: GpuFeatures;
  /** Extra Host header names to accept besides loopback (e.g. a LAN name the user configured). */
  allowedHosts?: string[];
}

export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 8 * 2 ** 20 });
  app.addHook('onRequest', async (request, reply) => {
    if (!hostAllowed(request.headers.host, options.allowedHosts)) {
      return reply
        .code(403)
        .send({ error: { message: `Host ${request.headers.host ?? '(none)'} is not allowed`, type: 'forbidden' } });
    }
  });
  app.get('/api/health', async () => ({ status: 'ok', adapter: options.adapter, features: options.features }));
  return app;
}
