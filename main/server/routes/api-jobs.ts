/**
 * Jobs the app runs on the server (token-guarded, see auth.ts):
 *   POST   /api/jobs/gate-train {model, tokens?, steps?, ...}  train the loaded model's PLAS gate: 202 {job}
 *   GET    /api/jobs                                         recent jobs, newest first
 *   GET    /api/jobs/:id                                     {job}: state, progress, result or error
 *   GET    /api/jobs/:id/events                              SSE: `state`, then `progress`..., then `done`, `failed`
 *                                                            or `cancelled` (each with the job), then the end
 *   DELETE /api/jobs/:id                                     cancel: resolves once the job has stopped
 * One job at a time per model (a second is a 409). Gate training needs the model loaded (its weights are used where
 * they are) and never writes into the app's bundled model folder (403).
 */
import { type Static, Type } from 'typebox';
import { GatePlanError } from '../../cli/gate/plan.ts';
import { HttpError } from '../http-error.ts';
import {
  GATE_TRAIN_DEFAULTS,
  type GateTrainOptions,
  type GateTrainProgress,
  type GateTrainResult,
  gateTrainingShapeFor,
  runGateTraining,
} from '../jobs/gate-train-job.ts';
import { JobConflictError, type JobView, jobsOf } from '../jobs/job-registry.ts';
import type { GateTrainRequest } from '../jobs/job-types.ts';
import { isBundled } from '../models/bundled.ts';
import type { Agree, Same } from '../same-type.ts';
import { openSse } from '../sse.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

const GateTrainBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    tokens: Type.Optional(Type.Integer({ minimum: 256, maximum: 1 << 20 })),
    steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
    length: Type.Optional(Type.Integer({ minimum: 64, maximum: 1 << 17 })),
    queries: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
    blockSize: Type.Optional(Type.Integer({ minimum: 16, maximum: 256 })),
    retrievalFraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
  },
  { additionalProperties: false },
);
// The body the renderer sends is declared once, import-free (jobs/job-types.ts): the schema must accept exactly it.
type _BodyAgrees = Agree<Same<Static<typeof GateTrainBody>, GateTrainRequest>>;
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const TERMINAL = new Set(['done', 'failed', 'cancelled']);

export function apiJobRoutes(app: PlasApp, deps: RouteDeps): void {
  const { manager } = deps;
  const jobs = jobsOf(manager);
  // At shutdown every job stops (the model it trains on is about to be unloaded).
  deps.shutdown.addEventListener('abort', () => void jobs.cancelAll(), { once: true });

  const jobOrFail = (id: string): JobView => {
    const job = jobs.get(id);
    if (!job) throw new HttpError(404, `no job '${id}'`, 'not_found_error', 'id', 'job_not_found');
    return job;
  };

  app.post('/api/jobs/gate-train', { schema: { body: GateTrainBody } }, async (request, reply) => {
    const body = request.body;
    const model = manager.get(body.model); // 404 for a name that is not registered
    const loaded = manager.loaded();
    if (loaded?.name !== model.name) {
      throw new HttpError(
        409,
        `'${model.name}' is not loaded: load it first (gate training runs on the loaded weights)`,
        'invalid_request_error',
        'model',
        'model_not_loaded',
      );
    }
    if (await isBundled(model.path)) {
      throw new HttpError(
        403,
        `'${model.name}' is the model bundled with the app (${model.path}), which gate training never changes: ` +
          'copy its folder elsewhere, add the copy, and train that',
        'permission_error',
        'model',
        'bundled_model',
      );
    }
    const running = jobs.activeFor(model.name);
    if (running) throw conflict(new JobConflictError(running));
    const options: GateTrainOptions = { ...GATE_TRAIN_DEFAULTS, ...body };
    const lease = await manager.acquire(model.name); // held until the job ends: the model cannot unload under it
    let job: JobView;
    try {
      const shape = await gateTrainingShapeFor(lease, options);
      job = jobs.start<GateTrainProgress, GateTrainResult>(
        'gate-train',
        model.name,
        { ...options, ...shape },
        async (ctx) => {
          try {
            return await runGateTraining(lease, manager.gpu, { ...options, ...shape }, ctx);
          } finally {
            lease.release();
          }
        },
      );
    } catch (error) {
      lease.release();
      if (error instanceof GatePlanError) {
        throw new HttpError(400, error.message, 'invalid_request_error', error.field);
      }
      if (error instanceof JobConflictError) throw conflict(error);
      throw error;
    }
    return reply.code(202).send({ job });
  });

  app.get('/api/jobs', async () => ({ jobs: jobs.list() }));

  app.get('/api/jobs/:id', { schema: { params: IdParams } }, async (request) => ({
    job: jobOrFail(request.params.id),
  }));

  app.get('/api/jobs/:id/events', { schema: { params: IdParams } }, async (request, reply) => {
    const job = jobOrFail(request.params.id);
    const sse = openSse(reply, deps.shutdown);
    sse.send('state', { job });
    if (TERMINAL.has(job.state)) {
      sse.send(job.state, { job });
      sse.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsubscribe = jobs.subscribe(job.id, (event, view) => {
        if (event === 'progress') sse.send('progress', { state: view.state, progress: view.progress });
        else {
          sse.send(view.state, { job: view });
          finish();
        }
      });
      const finish = () => {
        unsubscribe();
        sse.end();
        resolve();
      };
      sse.closed.addEventListener('abort', finish, { once: true });
      // It may have ended between the snapshot and the subscription.
      if (TERMINAL.has(job.state)) {
        sse.send(job.state, { job });
        finish();
      }
    });
  });

  app.delete('/api/jobs/:id', { schema: { params: IdParams } }, async (request) => {
    const job = jobOrFail(request.params.id);
    if (TERMINAL.has(job.state)) {
      throw new HttpError(
        409,
        `job '${job.id}' has already ended (${job.state})`,
        'invalid_request_error',
        'id',
        'job_ended',
      );
    }
    return { job: await jobs.cancel(job.id) };
  });
}

function conflict(error: JobConflictError): HttpError {
  return new HttpError(409, error.message, 'invalid_request_error', 'model', 'job_running');
}
