/**
 * Errors a caller of the engine branches on (the server maps each to an HTTP status). They name fields and values,
 * never a CLI flag or an HTTP route: the hosts translate.
 */

/** The prompt, or the prompt plus the tokens asked for, does not fit the model's context. */
export class ContextLengthExceededError extends Error {
  override name = 'ContextLengthExceededError';
  constructor(
    readonly promptTokens: number,
    readonly limit: number,
    detail = `the prompt has ${promptTokens} tokens; the model's context is ${limit}`,
  ) {
    super(detail);
  }
}

/** A request field is invalid; `field` names it as the engine's request does (e.g. "sampling.topP", "n"). */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The engine was closed: requests in flight ended with finish reason 'abort'; new ones are refused. */
export class EngineClosedError extends Error {
  override name = 'EngineClosedError';
  constructor() {
    super('the engine is closed');
  }
}

/** The GPU device was lost: requests in flight fail with it; the host creates a new device and engine. */
export { GpuDeviceLostError } from '../gpu/errors.ts';
