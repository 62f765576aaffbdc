/**
 * The app's model management (token-guarded, see auth.ts):
 *   GET    /api/models                         registered models, the loaded one first
 *   POST   /api/models {path, name?}           validate a folder and register it (201; 400 naming what is wrong)
 *   DELETE /api/models/:name                   unregister (unloads it when idle); the files stay
 *   DELETE /api/models/:name/files {confirm}   delete the folder's files too, when `confirm` repeats the name and the
 *                                              folder is one the app may delete (models/delete-files.ts; 403 otherwise)
 *   POST   /api/models/:name/load              SSE: `progress` {loaded, total} bytes, then `done` or `error`
 *   POST   /api/models/:name/unload            unload now (requests in flight end with finish reason abort)
 *   GET    /api/models/:name/estimate?context  GPU memory for weights + KV at that context
 * `:name` is only ever looked up in the registry: a name that is not registered is a 404, whatever it looks like.
 * While a job (gate training) runs on a model, unloading, removing or deleting it is a 409 naming the job.
 */
import { Type } from 'typebox';
import { RESOURCES } from '../../cli/default-model.ts';
import { errorResponse } from '../error-handler.ts';
import { HttpError } from '../http-error.ts';
import { jobsOf } from '../jobs/job-registry.ts';
import { checkDeletable, deleteFolderFiles } from '../models/delete-files.ts';
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
const DeleteFilesBody = Type.Object({ confirm: Type.String({ maxLength: 256 }) }, { additionalProperties: false });
const EstimateQuery = Type.Object({
  context: Type.Optional(Type.Integer({ minimum: 1, maximum: 1 << 24 })),
});

/** Progress events at most this often: a 16 GB model reports ~1,000 chunks. */
const PROGRESS_EVERY_MS = 100;

export function apiModelRoutes(app: PlasApp, deps: RouteDeps): void {
  const { manager } = deps;
  const jobs = jobsOf(manager);
  /** A 409 while a job works on the model (its weights are in use; unloading them would pull them from under it). */
  const notWhileJob = (name: string, doing: string) => {
    const job = jobs.activeFor(name);
    if (job) {
      throw new HttpError(
        409,
        `cannot ${doing} '${name}' while its ${job.kind} job (${job.id}) is ${job.state}: cancel the job first`,
        'invalid_request_error',
        'name',
        'job_running',
      );
    }
  };

  app.get('/api/models', async () => ({ models: manager.list() }));

  app.post('/api/models', { schema: { body: AddBody } }, async (request, reply) => {
    const model = await manager.add(request.body.path, request.body.name);
    return reply.code(201).send(model);
  });

  app.delete('/api/models/:name', { schema: { params: NameParams } }, async (request) => {
    notWhileJob(request.params.name, 'remove');
    await manager.remove(request.params.name);
    return { deleted: request.params.name };
  });

  app.delete('/api/models/:name/files', { schema: { params: NameParams, body: DeleteFilesBody } }, async (request) => {
    const { name } = request.params;
    const model = manager.get(name);
    if (request.body.confirm !== name) {
      throw new HttpError(
        400,
        `confirm must repeat the model's name ('${name}') exactly: deleting files cannot be undone`,
        'invalid_request_error',
        'confirm',
      );
    }
    notWhileJob(name, 'delete the files of');
    const rules = {
      resources: RESOURCES,
      dataDir: deps.info().dataDir,
      otherModels: manager.list().flatMap((m) => (m.name === name ? [] : [m.path])),
    };
    const checked = await checkDeletable(model.path, rules);
    await manager.remove(name); // unloads it (a 503 while it serves requests); the files are still all there
    try {
      await deleteFolderFiles(checked);
    } catch (error) {
      throw new HttpError(
        500,
        `'${name}' was removed from the list, but deleting ${model.path} stopped: ${(error as Error).message}`,
        'server_error',
      );
    }
    return { deleted: name, folder: checked.folder, files: checked.files };
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
    notWhileJob(name, 'unload');
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
