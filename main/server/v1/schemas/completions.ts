/** POST /v1/completions body: a prompt as text or token ids, one or many. */
import { type Static, Type } from 'typebox';
import { opt, samplingFields } from './common.ts';

const TokenId = Type.Integer({ minimum: 0 });

export const PromptIn = Type.Union([
  Type.String(),
  Type.Array(Type.String(), { minItems: 1 }),
  Type.Array(TokenId, { minItems: 1 }),
  Type.Array(Type.Array(TokenId, { minItems: 1 }), { minItems: 1 }),
]);

export const CompletionBody = Type.Object({
  model: opt(Type.String({ maxLength: 256 })),
  prompt: PromptIn,
  ...samplingFields,
  echo: opt(Type.Boolean()),
  /** Refused with a 400 (no fill-in-the-middle); listed so the refusal names it. */
  suffix: opt(Type.String()),
  /** Completions' logprobs is a count of alternatives (OpenAI allows 5; vLLM 20). */
  logprobs: opt(Type.Integer({ minimum: 0, maximum: 20 })),
  best_of: opt(Type.Integer({ minimum: 1 })),
});

export type CompletionBody = Static<typeof CompletionBody>;
