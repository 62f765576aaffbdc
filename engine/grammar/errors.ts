/**
 * Errors a caller of the grammar engine branches on: a grammar the request asked for cannot be used (the request's
 * fault), the worker that held a request's matcher died (the engine's fault, the request fails alone), or XGrammar is
 * not installed at all.
 */
import { InvalidRequestError } from '../serving/errors.ts';

/**
 * The request's grammar cannot be compiled: a schema that is not JSON, uses a keyword XGrammar would silently ignore,
 * contradicts itself, is too large or too slow to compile. `field` names the place, e.g. "grammar.schema" or
 * "grammar.tools[1].parameters.properties.age".
 */
export class GrammarError extends InvalidRequestError {
  override name = 'GrammarError';
}

/**
 * The XGrammar worker that held this matcher hung (a step or compile ran past its timeout) or crashed, and was
 * replaced. Only the requests whose matchers lived in it fail; new requests get a fresh worker.
 */
export class GrammarWorkerError extends Error {
  override name = 'GrammarWorkerError';
  constructor(detail: string) {
    super(`grammar worker failed: ${detail}`);
  }
}

/** @mlc-ai/web-xgrammar is missing or cannot be loaded: structured output is unavailable until it is reinstalled. */
export class GrammarUnavailableError extends Error {
  override name = 'GrammarUnavailableError';
}
