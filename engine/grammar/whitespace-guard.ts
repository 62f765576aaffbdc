/**
 * Bounds runs of whitespace inside constrained JSON. XGrammar 0.1.27 lets JSON have unbounded whitespace between
 * tokens, and its own bound (maxWhitespaceCnt) costs compile time and memory steeply (measured on Llama 3, a schema
 * of 8 properties: 0.2 s unbounded, 0.8 s with at most 8 whitespace characters, 2.3 s and +280 MB with 32). A model
 * that loops on "\n" would then write blank lines until max_tokens. Instead, once a matcher has accepted RUN_LIMIT
 * characters of whitespace-only tokens in a row, its mask drops the whitespace-only tokens, as long as some other
 * token stays allowed. Removing options keeps every output valid; free text (no mask) is left alone.
 */
import type { VocabType } from './protocol.ts';

/** Whitespace characters in a row, counted over whitespace-only tokens. */
export const RUN_LIMIT = 32;

/** GPT-2 byte-level spellings of space, \n, \t, \r (bytes 0x20, 0x0A, 0x09, 0x0D shifted to printable code points). */
const BYTE_LEVEL_WS = new Set(['Ġ', 'Ċ', 'ĉ', 'č']);
const PLAIN_WS = new Set([' ', '\n', '\t', '\r']);
const BYTE_TOKEN_WS = new Set(['<0x20>', '<0x0A>', '<0x09>', '<0x0D>']);

export class WhitespaceGuard {
  /** Bit set = the token is whitespace only. */
  private readonly mask: Uint32Array;
  /** Whitespace characters of each whitespace-only token (0 for the others). */
  private readonly width: Uint8Array;

  constructor(vocab: readonly string[], vocabType: VocabType, words: number) {
    this.mask = new Uint32Array(words);
    this.width = new Uint8Array(vocab.length);
    vocab.forEach((token, id) => {
      const n = whitespaceWidth(token, vocabType);
      if (n === 0) return;
      this.width[id] = Math.min(n, 255);
      this.mask[id >>> 5] |= 1 << (id & 31);
    });
  }

  /** The run after accepting `id`. */
  next(run: number, id: number): number {
    const n = this.width[id] ?? 0;
    return n === 0 ? 0 : run + n;
  }

  /** `mask` without whitespace-only tokens when `run` is at the limit and something else is allowed (in place). */
  apply(mask: Uint32Array, run: number): void {
    if (run < RUN_LIMIT) return;
    let other = false;
    for (let w = 0; w < mask.length && !other; w++) other = (mask[w] & ~this.mask[w]) !== 0;
    if (!other) return;
    for (let w = 0; w < mask.length; w++) mask[w] &= ~this.mask[w];
  }
}

/** Characters of whitespace the token spells, or 0 if it spells anything else (or nothing). */
function whitespaceWidth(token: string, vocabType: VocabType): number {
  if (token === '') return 0;
  if (vocabType === 'byte_fallback' && BYTE_TOKEN_WS.has(token)) return 1;
  let n = 0;
  for (const ch of token) {
    const ws = vocabType === 'byte_level' ? BYTE_LEVEL_WS.has(ch) : PLAIN_WS.has(ch) || ch === '▁';
    if (!ws) return 0;
    n++;
  }
  return n;
}
