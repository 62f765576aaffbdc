/** The chat store's errors as HTTP errors: not found 404, a bad request 400, a conflict 409, each naming the field. */
import { ChatStoreError } from '../../store/chat-types.ts';
import { HttpError } from '../http-error.ts';

const STATUS = { not_found: 404, invalid: 400, conflict: 409 } as const;

export function storeHttpError(error: unknown): unknown {
  if (!(error instanceof ChatStoreError)) return error;
  const type = error.kind === 'not_found' ? 'not_found_error' : 'invalid_request_error';
  return new HttpError(STATUS[error.kind], error.message, type, error.field, error.kind);
}

/** Runs a store call, turning its errors into HTTP errors (anything else passes through to the error handler). */
export function store<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw storeHttpError(error);
  }
}
