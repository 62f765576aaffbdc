/**
 * The app's model management (token-guarded, see auth.ts):
 *   GET    /api/models                         registered models, the loaded one first
 *   POST   /api/models {path, name?}           validate a folder and register it (201; 400 naming what is wrong)
 *   DELETE /api/models/:name                   unregister (unloads it when idle)
 *   POST   /api/models/:name/load              SSE: `progress` {loaded, total} bytes, then `done` or `error`
 *   POST   /api/models/:name/unload            unload now (requests in flight end with finish reason abort)
 *   GET    /api/models/:name/estimate?context  GPU memory for weights + KV at that context
 * `:name` is only ever looked up in the registry: a name that is not registered is a 404, whatever it looks like.
 */
import { Type } from 'typebox';
import { errorResponse } from '../error-handler.ts';
import { HttpError } from '../http-error.ts';
import { estimateMemory } from '../models/estimate.ts';
import { openSse } from '../sse.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

const NameParams = Type.Object({ name: Type.String() });
const AddBody = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: 4096 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
const EstimateQuery = Type.Object({
  context: Type.Optional(Type.Integer({ minimum: 1, maximum: 1 << 24 })),
});

/** Progress events at most this often: a 16 GB model reports ~1,000 chunks. */
const PROGRESS_EVERY_MS = 100;

export function apiModelRoutes(app: PlasApp, deps: RouteDeps): void {
  const { manager } = deps;

  app.get('/api/models', async () => ({ models: manager.list() }));

  app.post('/api/models', { schema: { body: AddBody } }, async (request, reply) => {
    const model = await manager.add(request.body.path, request.body.name);
    return reply.code(201).send(model);
  });

  app.delete('/api/models/:name', { schema: { params: NameParams } }, async (request) => {
    await manager.remove(request.params.name);
    return { deleted: request.params.name };
  });

  app.post('/api/models/:name/load', { schema: { params: NameParams } }, async (request, reply) => {
    const { name } = request.params;
    manager.get(name); // a 404 before the stream starts
    const sse = openSse(reply, deps.shutdown);
    let last = 0;
    try {
      await manager.load(name, (loaded, total) => {
        const now = performance.now();
        if (loaded === total || now - last >= PROGRESS_EVERY_MS) {
          last = now;
          sse.send('progress', { loaded, total });
        }
      });
      const loaded = manager.loaded();
      sse.send('done', { model: manager.get(name), loadSeconds: loaded?.name === name ? loaded.loadSeconds : null });
    } catch (error) {
      sse.send('error', errorResponse(error).body);
    }
    sse.end();
  });

  app.post('/api/models/:name/unload', { schema: { params: NameParams } }, async (request) => {
    const { name } = request.params;
    manager.get(name);
    return { unloaded: await manager.unload(name) };
  });

  app.get(
    '/api/models/:name/estimate',
    { schema: { params: NameParams, querystring: EstimateQuery } },
    async (request) => {
      const model = manager.get(request.params.name);
      const context = request.query.context ?? model.contextLength;
      if (context > model.contextLength) {
        throw new HttpError(
          400,
          `context (${context}) must be <= the model's context length (${model.contextLength})`,
          'invalid_request_error',
          'context',
        );
      }
      return { model: model.name, ...(await estimateMemory(model.path, context, deps.estimate)) };
    },
  );
}
