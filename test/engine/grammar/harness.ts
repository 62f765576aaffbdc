/**
 * Random constrained generation on a real vocabulary: each step a seeded random choice among the tokens the mask
 * allows, biased toward stop and closing tokens so generations end, and in free text toward opening a tool call.
 * All generations of a grammar run as one batch, so each step is one GrammarEngine.step() round trip.
 */
import { join } from 'node:path';
import {
  type CompiledGrammar,
  GrammarEngine,
  type GrammarEngineOptions,
} from '../../../engine/grammar/grammar-engine.ts';
import { tokenStrings, vocabTypeOfFile } from '../../../engine/grammar/tokenizer-vocab.ts';
import type { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { Rng } from '../../helpers/random.ts';
import { loadReal, REAL_TOKENIZERS, type RealTokenizerName } from '../tokenizer/real-tokenizers.ts';

export interface Vocabulary {
  name: RealTokenizerName;
  tokenizer: Tokenizer;
  engine: GrammarEngine;
  stopIds: number[];
  /** Ids whose text, trimmed, is only quotes and closing brackets: picking these ends strings, arrays, objects. */
  closers: number[];
}

/** Columns of the real models' logits (Qwen3 pads its 151,669 tokens to 151,936). */
const LOGITS_WIDTH: Record<RealTokenizerName, number> = { qwen3: 151_936, llama3: 128_256, mistral: 32_000 };
const STOP_TOKENS: Record<RealTokenizerName, string[]> = {
  qwen3: ['<|im_end|>', '<|endoftext|>'],
  llama3: ['<|end_of_text|>', '<|eot_id|>'],
  mistral: ['</s>'],
};

export async function openVocabulary(
  name: RealTokenizerName,
  timeouts: Pick<GrammarEngineOptions, 'stepTimeoutMs' | 'compileTimeoutMs'> = {},
): Promise<Vocabulary> {
  const tokenizer = await loadReal(name);
  const stopIds = STOP_TOKENS[name].map((t) => tokenizer.tokenToId(t)!);
  const file = join(REAL_TOKENIZERS[name], 'tokenizer.json');
  const engine =
    Object.keys(timeouts).length === 0
      ? await GrammarEngine.forTokenizer(tokenizer, LOGITS_WIDTH[name], stopIds)
      : await GrammarEngine.create({
          vocab: tokenStrings(tokenizer),
          vocabType: await vocabTypeOfFile(file),
          logitsWidth: LOGITS_WIDTH[name],
          stopTokenIds: stopIds,
          ...timeouts,
        });
  const closers: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const text = tokenizer.decode([id]).trim();
    if (text && /^["}\]]+$/.test(text)) closers.push(id);
  }
  return { name, tokenizer, engine, stopIds, closers };
}

/** A vocabulary of the 256 bytes (as byte-fallback tokens <0x00>..<0xFF>) and </s> = 256: engines that start fast. */
export function byteEngine(
  timeouts: Pick<GrammarEngineOptions, 'stepTimeoutMs' | 'compileTimeoutMs'> = {},
): Promise<GrammarEngine> {
  const vocab = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  return GrammarEngine.create({
    vocab: [...vocab, '</s>'],
    vocabType: 'byte_fallback',
    logitsWidth: 264,
    stopTokenIds: [256],
    ...timeouts,
  });
}

export interface Generation {
  /** Token ids, the final stop token included when it terminated. */
  ids: number[];
  terminated: boolean;
  /** The decoded text without the stop token. */
  text: string;
}

export interface WalkOptions {
  count: number;
  seed: number;
  maxTokens: number;
  /** Token sequences that open a tool call, forced now and then while the grammar allows free text. */
  triggers?: number[][];
}

export function isAllowed(mask: Uint32Array | null, id: number): boolean {
  return mask === null || ((mask[id >>> 5] >>> (id & 31)) & 1) === 1;
}

export function countAllowed(mask: Uint32Array): number {
  let n = 0;
  for (const w of mask) n += popcount(w);
  return n;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The k-th allowed id (0-based) of the mask. */
export function nthAllowed(mask: Uint32Array, k: number): number {
  for (let w = 0; w < mask.length; w++) {
    const c = popcount(mask[w]);
    if (k >= c) {
      k -= c;
      continue;
    }
    let bits = mask[w];
    for (;;) {
      const low = bits & -bits;
      if (k === 0) return w * 32 + (31 - Math.clz32(low));
      bits ^= low;
      k--;
    }
  }
  throw new Error('mask has fewer allowed ids than asked');
}

export async function randomGenerations(
  v: Vocabulary,
  compiled: CompiledGrammar,
  o: WalkOptions,
): Promise<Generation[]> {
  const rng = new Rng(o.seed);
  const matchers = await Promise.all(Array.from({ length: o.count }, () => v.engine.createMatcher(compiled)));
  const state = matchers.map((matcher) => ({
    matcher,
    ids: [] as number[],
    accept: undefined as number | undefined,
    forced: [] as number[],
    done: false,
    terminated: false,
  }));
  for (let step = 0; step <= o.maxTokens; step++) {
    const active = state.filter((s) => !s.done);
    if (active.length === 0) break;
    const results = await v.engine.step(active.map((s) => ({ matcher: s.matcher, accept: s.accept })));
    results.forEach((r, i) => {
      const s = active[i];
      if (r.failure) throw r.failure;
      if (s.accept !== undefined && !r.accepted)
        throw new Error(`token ${s.accept} was allowed by the mask but not accepted after ${s.ids.length - 1} tokens`);
      if (r.terminated || step === o.maxTokens) {
        s.done = true;
        s.terminated = r.terminated;
        return;
      }
      const id = choose(v, r.mask, s.forced, rng, o.triggers);
      if (!isAllowed(r.mask, id)) throw new Error(`forced token ${id} is not allowed after ${s.ids.length} tokens`);
      s.accept = id;
      s.ids.push(id);
    });
  }
  for (const m of matchers) v.engine.release(m);
  return state.map((s) => {
    const body = s.terminated ? s.ids.slice(0, -1) : s.ids;
    return { ids: s.ids, terminated: s.terminated, text: v.tokenizer.decode(body) };
  });
}

function choose(v: Vocabulary, mask: Uint32Array | null, forced: number[], rng: Rng, triggers?: number[][]): number {
  if (forced.length > 0) return forced.shift()!;
  if (mask === null) {
    // Free text: end, open a call, or write a random token.
    const r = rng.next();
    if (r < 0.3) return rng.pick(v.stopIds);
    if (triggers && r < 0.6) {
      forced.push(...rng.pick(triggers));
      return forced.shift()!;
    }
    return rng.int(0, v.tokenizer.vocabSize - 1);
  }
  const stops = v.stopIds.filter((id) => isAllowed(mask, id));
  if (stops.length > 0 && rng.next() < 0.5) return rng.pick(stops);
  if (rng.next() < 0.5) {
    const closers = v.closers.filter((id) => isAllowed(mask, id));
    if (closers.length > 0) return rng.pick(closers);
  }
  return nthAllowed(mask, rng.int(0, countAllowed(mask) - 1));
}
