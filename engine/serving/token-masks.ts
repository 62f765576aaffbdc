/**
 * A choice's allowed tokens for one step: its grammar's mask, and min_tokens (EOS and stop token ids are not allowed
 * until that many tokens are out, as in vLLM). u32 words, bit 1 = allowed; null = every token allowed (no upload).
 */
import type { SamplingParams } from '../generation/sampling-params.ts';

export interface MaskedChoice {
  sampling: SamplingParams;
  outputTokenIds: readonly number[];
}

export function tokenMasks(
  vocab: number,
  grammarMask: Uint32Array | null,
  choice: MaskedChoice,
  eosTokenIds: readonly number[],
): Uint32Array | null {
  const p = choice.sampling;
  if (choice.outputTokenIds.length >= p.minTokens) return grammarMask;
  const banned = [...(p.ignoreEos ? [] : eosTokenIds), ...p.stopTokenIds];
  if (banned.length === 0) return grammarMask;
  const mask = grammarMask ? grammarMask.slice() : new Uint32Array(Math.ceil(vocab / 32)).fill(0xffffffff);
  for (const id of banned) if (id < vocab) mask[id >>> 5] &= ~(1 << (id & 31));
  return mask;
}
