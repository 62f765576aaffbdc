/**
 * Every error a /v1 request can end in, mapped to one OpenAIError (status + OpenAI's body). The one place that knows
 * which engine, model-manager, tokenizer and fastify errors exist: routes just throw.
 */
import type { FastifyError } from 'fastify';
import { SamplingParamsError } from '../../../engine/generation/sampling-params.ts';
import { GrammarUnavailableError, GrammarWorkerError } from '../../../engine/grammar/errors.ts';
import { PlasConfigError } from '../../../engine/plas/config.ts';
import { RequestTooLargeError } from '../../../engine/scheduler/errors.ts';
import {
  ContextLengthExceededError,
  EngineClosedError,
  GpuDeviceLostError,
  InvalidRequestError,
} from '../../../engine/serving/errors.ts';
import { ChatTemplateError, NoChatTemplateError } from '../../../engine/tokenizer/errors.ts';
import { ModelBusyError, ModelLoadError, ServerClosingError, UnknownModelError } from '../context.ts';
import { invalidRequest, modelNotFound, OpenAIError } from './openai-error.ts';
import { schemaError, type ValidationIssue } from './validation.ts';

const RETRY_SOON = { 'retry-after': '2' };

/** Per-route names for engine fields that have no fixed OpenAI name (e.g. max_tokens vs max_output_tokens). */
export type ParamNames = Readonly<Record<string, string>>;

/** The engine's request field ("sampling.topP", "attention.plas.iterations") as the body names it ("top_p"). */
export function engineFieldToParam(field: string, names: ParamNames = {}): string {
  if (names[field]) return names[field];
  // A grammar's parts point back at the body: the output schema, or a tool's parameters (same index as the body's).
  const schema = /^grammar\.schema(.*)$/.exec(field);
  if (schema) return `${names.grammarSchema ?? 'response_format.json_schema.schema'}${schema[1]}`;
  const tool = /^grammar\.tools\[(\d+)\]\.parameters(.*)$/.exec(field);
  if (tool) return `tools[${tool[1]}].${names.toolParameters ?? 'function.parameters'}${tool[2]}`;
  const path = field
    .replace(/^sampling\./, '')
    .replace(/^logprobs\.topLogprobs$/, 'top_logprobs')
    .replace(/^attention\.plas\./, 'plas.')
    .replace(/^attention\./, 'plas.');
  const head = path.split('.')[0];
  if (names[head]) return names[head] + path.slice(head.length);
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && typeof (error as FastifyError).code === 'string';
}

export function toOpenAIError(error: unknown, names: ParamNames = {}): OpenAIError {
  if (error instanceof OpenAIError) return error;
  if (error instanceof UnknownModelError) return modelNotFound(error.model);
  if (error instanceof ContextLengthExceededError) {
    return invalidRequest(names.prompt ?? 'messages', error.message, 'context_length_exceeded');
  }
  if (error instanceof RequestTooLargeError) {
    return invalidRequest(names.maxTokens ?? 'max_tokens', error.message, 'context_length_exceeded');
  }
  if (error instanceof InvalidRequestError) {
    // The engine wraps sampling errors whole: "sampling: top_p (1.5) must be in (0, 1]".
    if (error.field === 'sampling') return invalidRequest(error.message.split(' ')[1] ?? null, error.message);
    return invalidRequest(engineFieldToParam(error.field, names), error.message);
  }
  if (error instanceof SamplingParamsError) {
    // Its messages start with the field's OpenAI name: "top_p (1.5) must be in (0, 1]".
    return invalidRequest(error.message.split(' ')[0] ?? null, error.message);
  }
  if (error instanceof PlasConfigError) return invalidRequest('plas', error.message);
  if (error instanceof NoChatTemplateError) return invalidRequest('messages', error.message, 'no_chat_template');
  if (error instanceof ChatTemplateError) return invalidRequest('messages', error.message, 'chat_template_error');
  if (error instanceof ModelBusyError) {
    return new OpenAIError(503, error.message, 'service_unavailable_error', 'model', 'model_busy', RETRY_SOON);
  }
  if (error instanceof ServerClosingError) {
    return new OpenAIError(503, error.message, 'service_unavailable_error', null, 'server_closing');
  }
  if (error instanceof EngineClosedError) {
    const message = 'the model was unloaded (or is reloading) while this request ran; retry';
    return new OpenAIError(503, message, 'service_unavailable_error', null, 'model_unavailable', RETRY_SOON);
  }
  if (error instanceof GpuDeviceLostError) {
    return new OpenAIError(500, error.message, 'server_error', null, 'gpu_device_lost');
  }
  if (error instanceof GrammarWorkerError || error instanceof GrammarUnavailableError) {
    return new OpenAIError(500, error.message, 'server_error', null, 'grammar_unavailable');
  }
  if (error instanceof ModelLoadError) {
    return new OpenAIError(500, error.message, 'server_error', 'model', 'model_load_failed');
  }
  if (isFastifyError(error)) {
    if (error.validation) return schemaError(error.validation as ValidationIssue[]);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'the request body is too large' : error.message || 'bad request';
      return new OpenAIError(status, message, 'invalid_request_error', null, error.code ?? null);
    }
  }
  // A JSON body that does not parse (fastify gives it statusCode 400 but no FST code).
  const status = (error as { statusCode?: number } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new OpenAIError(status, (error as Error).message, 'invalid_request_error');
  }
  const message = error instanceof Error ? error.message : String(error);
  return new OpenAIError(500, `internal error: ${message}`, 'server_error');
}
