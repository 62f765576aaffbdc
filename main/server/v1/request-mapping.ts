/**
 * Validated HTTP bodies -> the engine's typed request (engine/serving/types.ts): sampling with OpenAI's and vLLM's
 * names mapped to the engine's, the server's caps applied, the context checked. Never truncates: a prompt or a
 * max_tokens that does not fit is a 400 with both numbers.
 */
import type { SamplingParams } from '../../../engine/generation/sampling-params.ts';
import type { BlockScore, PlasConfig } from '../../../engine/plas/config.ts';
import type { AttentionOverride } from '../../../engine/serving/types.ts';
import type { ServerSettings } from '../context.ts';
import { invalidRequest } from './openai-error.ts';

export type Limits = ServerSettings['limits'];

/** The sampling fields as the schemas in schemas/common.ts give them (null = absent). */
export interface SamplingBody {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repetition_penalty?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  min_tokens?: number | null;
  ignore_eos?: boolean | null;
  include_stop_str_in_output?: boolean | null;
  skip_special_tokens?: boolean | null;
  stop_token_ids?: number[] | null;
}

const given = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined;

/** OpenAI takes any int64 seed; the engine's RNG takes [0, 2^32). Equal seeds stay equal. */
export function seed32(seed: number): number {
  return ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

/** Sampling and stopping, without maxTokens (see maxTokensFor, which needs the prompt's length). */
export function mapSampling(body: SamplingBody, limits: Limits, vocabSize: number): Partial<SamplingParams> {
  const out: Partial<SamplingParams> = {};
  if (given(body.temperature)) out.temperature = body.temperature;
  if (given(body.top_p)) out.topP = body.top_p;
  if (given(body.top_k)) out.topK = Math.max(0, body.top_k); // vLLM's -1 = off = the engine's 0
  if (given(body.min_p)) out.minP = body.min_p;
  if (given(body.presence_penalty)) out.presencePenalty = body.presence_penalty;
  if (given(body.frequency_penalty)) out.frequencyPenalty = body.frequency_penalty;
  if (given(body.repetition_penalty)) out.repetitionPenalty = body.repetition_penalty;
  if (given(body.seed)) out.seed = seed32(body.seed);
  if (given(body.stop)) {
    const stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (stop.length > limits.maxStop) {
      throw invalidRequest('stop', `stop: at most ${limits.maxStop} stop strings, got ${stop.length}`);
    }
    if (stop.length > 0) out.stop = stop;
  }
  if (given(body.min_tokens)) out.minTokens = body.min_tokens;
  if (given(body.ignore_eos)) out.ignoreEos = body.ignore_eos;
  if (given(body.include_stop_str_in_output)) out.includeStopStrInOutput = body.include_stop_str_in_output;
  if (given(body.skip_special_tokens)) out.skipSpecialTokens = body.skip_special_tokens;
  if (given(body.stop_token_ids)) {
    const bad = body.stop_token_ids.findIndex((id) => id >= vocabSize);
    if (bad >= 0) {
      throw invalidRequest(
        `stop_token_ids[${bad}]`,
        `stop_token_ids[${bad}]: ${body.stop_token_ids[bad]} is not a token id (the vocabulary has ${vocabSize})`,
      );
    }
    out.stopTokenIds = body.stop_token_ids;
  }
  return out;
}

export interface MaxTokensInput {
  /** max_tokens / max_completion_tokens / max_output_tokens as asked (undefined: fill the context). */
  asked: number | undefined;
  /** The body's name for it, for errors. */
  param: string;
  /** The body's name for the prompt (messages, prompt, input), for errors. */
  promptParam: string;
  promptTokens: number;
  contextLength: number;
  /** Tokens the KV pool holds (a request needs prompt + max_tokens - 1 of them). */
  kvTokens: number;
  /** The model's max_new_tokens (generation_config.json), the default when the request asks none. */
  modelDefault?: number;
  limits: Limits;
}

/**
 * The tokens to generate. Asked: checked against the cap and the context (prompt + max_tokens must fit, as OpenAI
 * and vLLM require). Not asked: the model's max_new_tokens if it has one, else what the context leaves (as vLLM),
 * within what the KV pool holds and the server's cap.
 */
export function maxTokensFor(i: MaxTokensInput): number {
  if (i.promptTokens >= i.contextLength) {
    throw invalidRequest(
      i.promptParam,
      `This model's maximum context length is ${i.contextLength} tokens, but the prompt has ${i.promptTokens} ` +
        'tokens (no room for a completion). Shorten the prompt.',
      'context_length_exceeded',
    );
  }
  if (i.asked !== undefined) {
    if (i.asked > i.limits.maxTokens) {
      throw invalidRequest(i.param, `${i.param}: at most ${i.limits.maxTokens} on this server, got ${i.asked}`);
    }
    if (i.promptTokens + i.asked > i.contextLength) {
      throw invalidRequest(
        i.param,
        `This model's maximum context length is ${i.contextLength} tokens. However, you requested ` +
          `${i.promptTokens + i.asked} tokens (${i.promptTokens} in the prompt, ${i.asked} for the completion). ` +
          `Shorten the prompt or lower ${i.param}.`,
        'context_length_exceeded',
      );
    }
    return i.asked;
  }
  const room = Math.min(
    i.contextLength - i.promptTokens,
    i.kvTokens - i.promptTokens + 1,
    i.limits.maxTokens,
    i.modelDefault ?? Number.POSITIVE_INFINITY,
  );
  if (room < 1) {
    throw invalidRequest(
      i.promptParam,
      `The prompt has ${i.promptTokens} tokens but the KV cache holds ${i.kvTokens}: shorten the prompt, or give ` +
        'the KV cache more memory.',
      'context_length_exceeded',
    );
  }
  return room;
}

export function checkN(n: number | null | undefined, limits: Limits, choicesPerN = 1): number {
  const value = n ?? 1;
  if (value * choicesPerN > limits.maxN) {
    const what = choicesPerN > 1 ? ` (${choicesPerN} prompts x n ${value})` : '';
    throw invalidRequest(
      'n',
      `n: at most ${limits.maxN} choices per request on this server, got ${value * choicesPerN}${what}`,
    );
  }
  return value;
}

/** logit_bias keys are token ids as strings (OpenAI's shape); the engine takes a map. */
export function mapLogitBias(
  bias: Record<string, number> | null | undefined,
  vocabSize: number,
): Map<number, number> | undefined {
  if (!bias) return undefined;
  const out = new Map<number, number>();
  for (const [key, value] of Object.entries(bias)) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw invalidRequest(
        `logit_bias.${key}`,
        `logit_bias: "${key}" is not a token id (the vocabulary has ${vocabSize})`,
      );
    }
    out.set(id, value);
  }
  return out.size > 0 ? out : undefined;
}

/** The `plas` extension's keys as the engine's PlasConfig names them. */
export interface PlasExtensionBody {
  backend?: 'dense' | 'plas';
  plas_encoder_top_k_left?: number;
  plas_encoder_top_k_right?: number;
  plas_decoder_top_k_left?: number;
  plas_decoder_top_k_right?: number;
  plas_use_encoder_seq_limit?: number;
  plas_use_decoder_seq_limit?: number;
  plas_block_size?: number;
  iterations?: number;
  dense_last_layer?: boolean;
  topk_search?: 'refined' | 'original';
  encoder_block_score?: BlockScore;
  decoder_block_score?: BlockScore;
}

export function mapAttention(ext: PlasExtensionBody | null | undefined): AttentionOverride | undefined {
  if (!ext) return undefined;
  if (ext.plas_block_size !== undefined) {
    throw invalidRequest(
      'plas.plas_block_size',
      'plas.plas_block_size: the PLAS block size is fixed when the model loads (the KV cache is laid out for it); ' +
        'leave it out of the request',
    );
  }
  const {
    backend,
    dense_last_layer,
    topk_search,
    encoder_block_score,
    decoder_block_score,
    plas_block_size: _,
    ...ranges
  } = ext;
  const plas: Partial<PlasConfig> = { ...ranges };
  if (dense_last_layer !== undefined) plas.denseLastLayer = dense_last_layer;
  if (topk_search !== undefined) plas.topkSearch = topk_search;
  if (encoder_block_score !== undefined) plas.encoderBlockScore = encoder_block_score;
  if (decoder_block_score !== undefined) plas.decoderBlockScore = decoder_block_score;
  const out: AttentionOverride = {};
  if (backend) out.backend = backend;
  if (Object.keys(plas).length > 0) out.plas = plas;
  return out;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Ollama's keep_alive -> milliseconds for the model manager: a number is seconds; a string is a duration ("5m",
 * "1.5h", "300ms", "30": seconds); any negative value keeps the model loaded (-1); 0 unloads after the request.
 */
export function parseKeepAlive(value: number | string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  let ms: number;
  if (typeof value === 'number') ms = value * 1000;
  else {
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (!m) throw invalidRequest('keep_alive', `keep_alive: "${value}" is not a duration (e.g. 300, "5m", "1h", -1)`);
    ms = Number(m[1]) * UNIT_MS[m[2] ?? 's'];
  }
  if (!Number.isFinite(ms)) throw invalidRequest('keep_alive', `keep_alive: ${value} is not a finite duration`);
  return ms < 0 ? -1 : Math.round(ms);
}
