/**
 * What every generating route does around its work: map whatever it throws to an OpenAIError (with the route's own
 * field names), and record the request once when it ends, with the status the client saw. Requests that never reach
 * a handler (a body that fails its schema) are recorded by the onResponse hook in index.ts.
 */
import type { FastifyRequest } from 'fastify';
import type { AttentionReport, RequestTimings } from '../../../engine/serving/types.ts';
import type { ServerContext } from '../context.ts';
import { type ParamNames, toOpenAIError } from './error-mapping.ts';
import { recordFinished } from './record.ts';

/** Requests a handler recorded (the onResponse hook skips them). */
export const recorded = new WeakSet<FastifyRequest>();

export class RouteScope {
  readonly startedAt = performance.now();
  model = '';
  /** 200 unless the route says otherwise (a stream that failed after its header sets 500). */
  status = 200;
  outcome = 'stop';
  promptTokens = 0;
  completionTokens = 0;
  readonly timings: RequestTimings[] = [];
  /** The choices' attention reports, for the request log. */
  readonly attention: AttentionReport[] = [];

  constructor(
    readonly route: string,
    readonly names: ParamNames,
  ) {}
}

export async function inScope<T>(
  ctx: ServerContext,
  request: FastifyRequest,
  route: string,
  names: ParamNames,
  work: (scope: RouteScope) => Promise<T>,
): Promise<T> {
  recorded.add(request);
  const scope = new RouteScope(route, names);
  try {
    return await work(scope);
  } catch (error) {
    const mapped = toOpenAIError(error, names);
    scope.status = mapped.status;
    scope.outcome = mapped.code ?? mapped.type;
    throw mapped;
  } finally {
    recordFinished(ctx, { ...scope, route, model: scope.model || 'unknown', timings: scope.timings });
  }
}
