/**
 * Fields the generating routes share (chat, completions, and the sampling part of responses), as TypeBox schemas.
 * Static bounds live here so a bad value is a 400 naming the field before anything runs; bounds that come from the
 * server's settings (n, max_tokens, stop strings, tools, schema bytes) are checked in request-mapping.ts.
 *
 * Optional fields also accept null: LangChain, LiteLLM and several UIs send `"stop": null` for "not set".
 */
import { type TSchema, Type } from 'typebox';

/** engine/plas/config.ts BlockScore (api-plas.ts checks the PATCH body against the engine's type). */
export const BlockScoreSchema = Type.Union([Type.Literal('gate'), Type.Literal('bound'), Type.Literal('bound-gate')]);

/** Optional and nullable (null means absent). */
export function opt<T extends TSchema>(schema: T) {
  return Type.Optional(Type.Union([schema, Type.Null()]));
}

/** Most bytes of one stop string: a stop string is a few words, not a document. */
export const MAX_STOP_CHARS = 1024;
/** Most logit_bias entries (OpenAI allows 300; vLLM has no cap). */
export const MAX_LOGIT_BIAS = 1024;

export const StopField = Type.Union([
  Type.String({ minLength: 1, maxLength: MAX_STOP_CHARS }),
  Type.Array(Type.String({ minLength: 1, maxLength: MAX_STOP_CHARS })),
]);

/** Ollama's keep_alive: seconds, or a duration such as "5m", "1h", "-1" (forever), "0" (unload at once). */
export const KeepAliveField = Type.Union([Type.Number(), Type.String({ maxLength: 32 })]);

/** The `plas` extension: attention for this request only (block size is fixed when the model loads). */
export const PlasExtension = Type.Object(
  {
    backend: Type.Optional(Type.Union([Type.Literal('dense'), Type.Literal('plas')])),
    plas_encoder_top_k_left: Type.Optional(Type.Integer({ minimum: 1 })),
    plas_encoder_top_k_right: Type.Optional(Type.Integer({ minimum: 1 })),
    plas_decoder_top_k_left: Type.Optional(Type.Integer({ minimum: 1 })),
    plas_decoder_top_k_right: Type.Optional(Type.Integer({ minimum: 1 })),
    plas_use_encoder_seq_limit: Type.Optional(Type.Integer({ minimum: 0 })),
    plas_use_decoder_seq_limit: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Listed so it gets a clear 400 ("fixed at load") instead of "unknown key". */
    plas_block_size: Type.Optional(Type.Integer()),
    iterations: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
    dense_last_layer: Type.Optional(Type.Boolean()),
    /** How the per-row threshold search counts (engine/plas/config.ts TopkSearch): "refined" or the published "original". */
    topk_search: Type.Optional(Type.Union([Type.Literal('refined'), Type.Literal('original')])),
    /** How prefill and decode queries score blocks (engine/plas/config.ts BlockScore). */
    encoder_block_score: Type.Optional(BlockScoreSchema),
    decoder_block_score: Type.Optional(BlockScoreSchema),
  },
  // A misspelt key would silently change nothing: refuse it.
  { additionalProperties: false },
);

/** Sampling and stopping, with OpenAI's names and vLLM's extras. */
export const samplingFields = {
  temperature: opt(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: opt(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  /** vLLM: -1 or 0 = off. */
  top_k: opt(Type.Integer({ minimum: -1, maximum: 1 << 20 })),
  min_p: opt(Type.Number({ minimum: 0, maximum: 1 })),
  presence_penalty: opt(Type.Number({ minimum: -2, maximum: 2 })),
  frequency_penalty: opt(Type.Number({ minimum: -2, maximum: 2 })),
  repetition_penalty: opt(Type.Number({ exclusiveMinimum: 0, maximum: 10 })),
  /** Any safe integer (OpenAI takes int64); reduced modulo 2^32 for the engine's RNG. */
  seed: opt(Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })),
  stop: opt(StopField),
  max_tokens: opt(Type.Integer({ minimum: 1 })),
  n: opt(Type.Integer({ minimum: 1 })),
  logit_bias: opt(
    Type.Record(Type.String({ pattern: '^[0-9]{1,9}$' }), Type.Number({ minimum: -100, maximum: 100 }), {
      maxProperties: MAX_LOGIT_BIAS,
    }),
  ),
  stream: opt(Type.Boolean()),
  stream_options: opt(Type.Object({ include_usage: opt(Type.Boolean()) })),
  user: opt(Type.String({ maxLength: 1024 })),
  keep_alive: opt(KeepAliveField),
  // vLLM extras.
  min_tokens: opt(Type.Integer({ minimum: 0 })),
  ignore_eos: opt(Type.Boolean()),
  include_stop_str_in_output: opt(Type.Boolean()),
  skip_special_tokens: opt(Type.Boolean()),
  stop_token_ids: opt(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 256 })),
  plas: opt(PlasExtension),
};
