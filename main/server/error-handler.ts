/**
 * One error handler for the whole app: every error becomes OpenAI's `{error: {message, type, param, code}}` with the
 * status a client can act on. Validation errors name the field; engine and model errors map to their status; anything
 * unexpected is a 500 with its message and never its stack.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { PlasConfigError } from '../../engine/plas/config.ts';
import { RequestTooLargeError } from '../../engine/scheduler/errors.ts';
import { ContextLengthExceededError, EngineClosedError, InvalidRequestError } from '../../engine/serving/errors.ts';
import { DuplicateModelError } from '../store/models-repo.ts';
import { ModelBusyError, ModelLoadError, ServerClosingError, UnknownModelError } from './context.ts';
import { type ErrorBody, HttpError, isStatusError } from './http-error.ts';
import { ModelFolderError } from './models/folder-containment.ts';
import { ModelNameError } from './models/model-names.ts';
import { describeValidation } from './validation-message.ts';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Readonly<Record<string, string>>;
}

const RETRY_SOON = { 'retry-after': '5' };

function mapped(error: unknown): HttpError {
  const e = error as FastifyError;
  if (Array.isArray(e?.validation) && e.validation.length > 0) {
    const { param, message } = describeValidation(e.validation, e.validationContext ?? 'body');
    return new HttpError(400, message, 'invalid_request_error', param || null);
  }
  if (error instanceof UnknownModelError) {
    return new HttpError(404, error.message, 'invalid_request_error', 'model', 'model_not_found');
  }
  if (error instanceof ModelBusyError) {
    return new HttpError(503, error.message, 'service_unavailable_error', 'model', 'model_busy', RETRY_SOON);
  }
  if (error instanceof ServerClosingError || error instanceof EngineClosedError) {
    return new HttpError(503, error.message, 'service_unavailable_error', null, 'server_closing');
  }
  if (error instanceof ModelLoadError)
    return new HttpError(500, error.message, 'server_error', null, 'model_load_failed');
  if (error instanceof DuplicateModelError) {
    return new HttpError(409, error.message, 'invalid_request_error', 'name', 'model_exists');
  }
  if (error instanceof ModelFolderError) return new HttpError(400, error.message, 'invalid_request_error', 'path');
  if (error instanceof ModelNameError) return new HttpError(400, error.message, 'invalid_request_error', 'name');
  if (error instanceof PlasConfigError) return new HttpError(400, error.message, 'invalid_request_error');
  if (error instanceof ContextLengthExceededError || error instanceof RequestTooLargeError) {
    return new HttpError(400, error.message, 'invalid_request_error', 'messages', 'context_length_exceeded');
  }
  if (error instanceof InvalidRequestError) {
    return new HttpError(400, error.message, 'invalid_request_error', error.field);
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) {
    return new HttpError(413, 'the request body is too large', 'invalid_request_error', null, 'body_too_large');
  }
  if (status >= 400 && status < 500) {
    const type = status === 429 ? 'rate_limit_error' : 'invalid_request_error';
    return new HttpError(status, e.message, type, null, e.code ?? null);
  }
  return new HttpError(500, (error as Error)?.message || 'internal server error', 'server_error');
}

/** The status, OpenAI body and extra headers for any error (SSE routes send the body as an `error` event). */
export function errorResponse(error: unknown): ErrorResponse {
  const e = isStatusError(error) ? error : mapped(error);
  return { status: e.status, body: e.body(), headers: e.headers ?? {} };
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, _request, reply) => {
    const { status, body, headers } = errorResponse(error);
    return reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const body = new HttpError(404, `no route ${request.method} ${path}`, 'not_found_error', null, 'not_found').body();
    return reply.code(404).send(body);
  });
}
