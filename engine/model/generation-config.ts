/**
 * generation_config.json: the sampling defaults a model ships with and, often, more end-of-sequence tokens than
 * config.json lists (Llama 3 instruct stops on <|eot_id|> only through this file). Every field is optional.
 */

import type { ModelConfig } from './config.ts';
import { ConfigFields } from './config-fields.ts';
import { ModelConfigError } from './errors.ts';

export interface GenerationConfig {
  bosTokenId?: number;
  /** [] when the file has none. */
  eosTokenIds: number[];
  padTokenId?: number;
  /** false: greedy decoding is the model's default, whatever temperature says. */
  doSample?: boolean;
  /** >= 0; 0 means greedy. */
  temperature?: number;
  /** In (0, 1]. */
  topP?: number;
  /** 0 turns top-k off, as in transformers. */
  topK?: number;
  /** In [0, 1]. */
  minP?: number;
  /** > 0; 1 means no penalty. */
  repetitionPenalty?: number;
  maxNewTokens?: number;
}

/** Parses a generation_config.json object; `source` (the file's path) starts every error message. */
export function parseGenerationConfig(json: unknown, source: string): GenerationConfig {
  const f = ConfigFields.of(json, source);
  const out: GenerationConfig = { eosTokenIds: f.tokenIds('eos_token_id') };
  const set = <K extends keyof GenerationConfig>(key: K, value: GenerationConfig[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('bosTokenId', f.optionalNonNegativeInt('bos_token_id'));
  set('padTokenId', f.optionalNonNegativeInt('pad_token_id'));
  set('doSample', f.optionalBool('do_sample'));
  set('temperature', f.optionalNumberIn('temperature', 0, Number.POSITIVE_INFINITY));
  set('topP', f.optionalNumberIn('top_p', 0, 1, true));
  set('topK', f.optionalNonNegativeInt('top_k'));
  set('minP', f.optionalNumberIn('min_p', 0, 1));
  set('repetitionPenalty', f.optionalNumberIn('repetition_penalty', 0, Number.POSITIVE_INFINITY, true));
  set('maxNewTokens', f.optionalPositiveInt('max_new_tokens'));
  return out;
}

/**
 * The model config with generation_config's end tokens added (config's first, order kept, no duplicates) and its
 * bos_token_id used where config.json has none. `source` (generation_config.json's path) names the file when one of
 * its token ids lies outside the vocabulary.
 */
export function mergeGenerationConfig(config: ModelConfig, generation: GenerationConfig, source: string): ModelConfig {
  const ids: [string, number | undefined][] = [
    ['bos_token_id', generation.bosTokenId],
    ...generation.eosTokenIds.map((id): [string, number] => ['eos_token_id', id]),
  ];
  for (const [field, id] of ids) {
    if (id !== undefined && id >= config.vocabSize) {
      throw new ModelConfigError(source, field, `${field} (${id}) must be < vocab_size (${config.vocabSize})`);
    }
  }
  return {
    ...config,
    bosTokenId: config.bosTokenId ?? generation.bosTokenId,
    eosTokenIds: [...new Set([...config.eosTokenIds, ...generation.eosTokenIds])],
  };
}
