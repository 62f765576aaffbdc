/**
 * The one error the /v1 routes throw: an HTTP status plus OpenAI's error body `{error: {message, type, param, code}}`.
 * The OpenAI SDKs read `param` and `code` (e.g. "context_length_exceeded", "model_not_found") to tell the user what
 * to fix, so every 4xx names the offending field. The app's error handler (or the /v1 scope's own) sends it as is.
 */

/** OpenAI's error types (the SDKs map the status to a class; `type` is informative). */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable_error';

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

export class OpenAIError extends Error {
  override name = 'OpenAIError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAIErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers, e.g. Retry-After on 429 and 503. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

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
