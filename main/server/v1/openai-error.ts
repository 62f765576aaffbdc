/**
 * The one error the /v1 routes throw: an HTTP status plus OpenAI's error body `{error: {message, type, param, code}}`.
 * The OpenAI SDKs read `param` and `code` (e.g. "context_length_exceeded", "model_not_found") to tell the user what
 * to fix, so every 4xx names the offending field. The app's error handler (or the /v1 scope's own) sends it as is.
 */

import { HttpError as OpenAIError } from '../http-error.ts';

export type { ErrorBody as OpenAIErrorBody, ErrorType as OpenAIErrorType } from '../http-error.ts';
/** The server's one error class (http-error.ts), under the name /v1 code reads best with. */
export { OpenAIError };

/** 400 naming the field (OpenAI's dotted path, e.g. "messages[2].content"). */
export function invalidRequest(param: string | null, message: string, code: string | null = null): OpenAIError {
  return new OpenAIError(400, message, 'invalid_request_error', param, code);
}

export function modelNotFound(model: string): OpenAIError {
  return new OpenAIError(
    404,
    `The model '${model}' does not exist`,
    'invalid_request_error',
    'model',
    'model_not_found',
  );
}
