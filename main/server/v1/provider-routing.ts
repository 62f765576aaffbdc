/**
 * Requests for a provider's model ("NAME/MODEL", issue 18) leave here, before the body's schema is checked: the
 * provider has its own fields (vLLM's, Ollama's...) our schemas do not know, and judges them itself. The Host check,
 * CORS and our API key run before this hook (onRequest), so nothing is forwarded for a request we would refuse.
 * A local model whose name is exactly "NAME/MODEL" wins. Each forwarded request is recorded once (request log and
 * metrics) under "NAME/MODEL".
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.ts';
import { forward } from '../providers/proxy.ts';
import { recordFinished } from './record.ts';
import { recorded } from './route-scope.ts';

/** Our route -> the provider's path under its API root. */
const FORWARDED: Readonly<Record<string, string>> = {
  '/v1/chat/completions': '/chat/completions',
  '/v1/completions': '/completions',
  '/v1/responses': '/responses',
};

function isLocal(ctx: ServerContext, name: string): boolean {
  return ctx.settings.servedModelName === name || ctx.models.list().some((m) => m.name === name);
}

export function providerRoutingHook(ctx: ServerContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const registry = ctx.providers;
    const route = request.routeOptions.url;
    if (!registry || request.method !== 'POST' || route === undefined || !(route in FORWARDED)) return;
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    const model = (body as { model?: unknown }).model;
    if (typeof model !== 'string') return;
    const target = registry.resolve(model, (name) => isLocal(ctx, name));
    if (!target) return;

    recorded.add(request); // recorded below, not by the scope's onResponse hook
    const startedAt = performance.now();
    await forward({
      registry,
      target,
      path: FORWARDED[route],
      body: body as Record<string, unknown>,
      reply,
      done: (o) =>
        recordFinished(ctx, {
          route,
          model,
          status: o.status,
          startedAt,
          promptTokens: o.summary.promptTokens,
          completionTokens: o.summary.completionTokens,
          timings:
            o.firstChunkMs === null
              ? []
              : [
                  {
                    timeToFirstTokenMs: o.firstChunkMs,
                    timePerOutputTokenMs:
                      o.summary.completionTokens > 1
                        ? (o.totalMs - o.firstChunkMs) / (o.summary.completionTokens - 1)
                        : 0,
                    totalMs: o.totalMs,
                  },
                ],
          outcome: o.outcome,
        }),
    });
    return reply; // answered (or under way): fastify skips the schema and the handler
  };
}
