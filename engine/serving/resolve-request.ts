/**
 * A GenerateRequest checked and completed before anything is queued: sampling with the model's defaults, the
 * attention the request runs with, logit bias, logprobs, n. Every problem is an InvalidRequestError naming the field
 * (or ContextLengthExceededError), never a crash in the step loop.
 */
import {
  resolveSampling,
  type SamplingDefaults,
  type SamplingParams,
  SamplingParamsError,
} from '../generation/sampling-params.ts';
import { mergePlasConfig, type PlasConfig, PlasConfigError } from '../plas/config.ts';
import { ContextLengthExceededError, InvalidRequestError } from './errors.ts';
import type { GenerateRequest } from './types.ts';

/** Most completions one request may ask for. */
export const MAX_N = 128;
export const MAX_TOP_LOGPROBS = 20;
export const LOGIT_BIAS_LIMIT = 100;

export interface ResolveContext {
  vocabSize: number;
  /** The model's context length (max_position_embeddings). */
  contextLength: number;
  /** Tokens the KV cache holds for one request (a left-out max_tokens stays within it). */
  kvTokens: number;
  defaults: SamplingDefaults;
  /** The engine's live PLAS config, and whether PLAS requests can run (key sums allocated). */
  plas: PlasConfig;
  plasAvailable: boolean;
  defaultBackend: 'dense' | 'plas';
  pageSize: number;
}

export interface ResolvedRequest {
  promptTokenIds: readonly number[];
  sampling: SamplingParams;
  n: number;
  topLogprobs: number | undefined;
  logitBias: ReadonlyMap<number, number> | undefined;
  /** null: dense; 'live': PLAS with the engine's live config (updates apply from the next step); else its own. */
  plas: PlasConfig | 'live' | null;
}

function tokenId(value: unknown, vocab: number): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < vocab;
}

export function resolveRequest(r: GenerateRequest, c: ResolveContext): ResolvedRequest {
  const prompt = r.promptTokenIds;
  if (!Array.isArray(prompt) || prompt.length === 0) {
    throw new InvalidRequestError('promptTokenIds', 'the prompt is empty');
  }
  for (let i = 0; i < prompt.length; i++) {
    if (!tokenId(prompt[i], c.vocabSize)) {
      throw new InvalidRequestError(
        `promptTokenIds[${i}]`,
        `${prompt[i]} is not a token id of this model (vocabulary of ${c.vocabSize})`,
      );
    }
  }
  const room = c.contextLength - prompt.length;
  if (room < 1) throw new ContextLengthExceededError(prompt.length, c.contextLength);

  const partial = { ...r.sampling };
  // Left out, max_tokens is the model's max_new_tokens, else all the context leaves (as vLLM) within what the KV cache
  // holds; asked for, it must fit the context.
  if (partial.maxTokens === undefined) {
    const kvRoom = c.kvTokens - prompt.length + 1; // the last token needs no KV
    partial.maxTokens = Math.max(1, Math.min(c.defaults.maxNewTokens ?? room, room, kvRoom));
  }
  let sampling: SamplingParams;
  try {
    sampling = resolveSampling(partial, c.defaults);
  } catch (error) {
    if (error instanceof SamplingParamsError) throw new InvalidRequestError('sampling', error.message);
    throw error;
  }
  if (sampling.maxTokens > room) {
    throw new ContextLengthExceededError(
      prompt.length,
      c.contextLength,
      `the prompt has ${prompt.length} tokens and max_tokens is ${sampling.maxTokens}: together ${prompt.length + sampling.maxTokens}, over the model's context of ${c.contextLength}`,
    );
  }
  sampling.stopTokenIds.forEach((t, i) => {
    if (!tokenId(t, c.vocabSize))
      throw new InvalidRequestError(`sampling.stopTokenIds[${i}]`, `${t} is not a token id`);
  });

  const n = r.n ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_N) {
    throw new InvalidRequestError('n', `${n} must be an integer in [1, ${MAX_N}]`);
  }

  let topLogprobs: number | undefined;
  if (r.logprobs !== undefined) {
    topLogprobs = r.logprobs.topLogprobs;
    if (!Number.isInteger(topLogprobs) || topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
      throw new InvalidRequestError(
        'logprobs.topLogprobs',
        `${topLogprobs} must be an integer in [0, ${MAX_TOP_LOGPROBS}]`,
      );
    }
  }

  let logitBias: Map<number, number> | undefined;
  if (r.logitBias !== undefined && r.logitBias.size > 0) {
    logitBias = new Map();
    for (const [id, bias] of r.logitBias) {
      if (!tokenId(id, c.vocabSize)) throw new InvalidRequestError(`logitBias[${id}]`, 'not a token id of this model');
      if (typeof bias !== 'number' || !Number.isFinite(bias)) {
        throw new InvalidRequestError(`logitBias[${id}]`, `${bias} must be a finite number`);
      }
      logitBias.set(id, Math.max(-LOGIT_BIAS_LIMIT, Math.min(LOGIT_BIAS_LIMIT, bias)));
    }
  }

  const backend = r.attention?.backend ?? c.defaultBackend;
  if (backend !== 'dense' && backend !== 'plas') {
    throw new InvalidRequestError('attention.backend', `${JSON.stringify(backend)} must be dense or plas`);
  }
  let plas: PlasConfig | 'live' | null = null;
  if (backend === 'plas') {
    if (!c.plasAvailable) {
      throw new InvalidRequestError(
        'attention.backend',
        'this engine was created without PLAS (attention.allowPlas false)',
      );
    }
    try {
      plas = r.attention?.plas ? mergePlasConfig(c.plas, r.attention.plas, c.pageSize) : 'live';
    } catch (error) {
      if (error instanceof PlasConfigError) throw new InvalidRequestError('attention.plas', error.message);
      throw error;
    }
  }
  return { promptTokenIds: prompt, sampling, n, topLogprobs, logitBias, plas };
}
