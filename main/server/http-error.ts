/**
 * The error every route family throws with an HTTP status (/v1 imports it as OpenAIError): OpenAI's error body, so
 * the whole server answers in one shape, and the error handler sends it as is.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable_error';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Anything with a status and an OpenAI body (HttpError, /v1's OpenAIError). */
export interface StatusError {
  status: number;
  headers?: Readonly<Record<string, string>>;
  body(): ErrorBody;
}

export function isStatusError(error: unknown): error is StatusError {
  const e = error as Partial<StatusError> | null;
  return typeof e?.status === 'number' && typeof e.body === 'function';
}
