/**
 * Token windows for gate distillation: consecutive pieces of the data text, and (a share of them) retrieval
 * documents with the same text as filler, so the gate also sees the long-range attention of a question looking for
 * its answer far back.
 */
import { SamplingRng } from '../../../engine/generation/rng.ts';
import type { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { factsDocument, Haystack, passKeyDocument } from '../eval/needle.ts';

export interface WindowOptions {
  /** Tokens per window. */
  length: number;
  /** Windows to make. */
  count: number;
  /** Share of retrieval documents, in [0, 1]. */
  retrievalFraction: number;
  seed: number;
}

/** Nouns for key-value facts that any English tokenizer handles. */
const NAMES = ['apple', 'river', 'lantern', 'garden', 'window', 'mountain', 'harbor', 'violin', 'desert', 'castle'];

export function gateWindows(tokenizer: Tokenizer, text: string, o: WindowOptions): number[][] {
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  if (ids.length < o.length) {
    throw new RangeError(`the data has ${ids.length} tokens, fewer than one window of ${o.length}`);
  }
  const rng = new SamplingRng(o.seed);
  const count = (t: string) => tokenizer.encode(t, { addSpecialTokens: false }).length;
  let haystack: Haystack | null = null;
  const windows: number[][] = [];
  for (let w = 0; w < o.count; w++) {
    if (rng.next() < o.retrievalFraction) {
      haystack ??= new Haystack(text, count);
      const doc =
        rng.next() < 0.6
          ? passKeyDocument(haystack, count, rng, { tokens: o.length - 8 })
          : factsDocument(haystack, count, rng, { tokens: o.length - 8, names: NAMES, facts: 4 });
      windows.push(tokenizer.encode(`${doc.prompt} ${doc.answer}.`, { addSpecialTokens: false }).slice(0, o.length));
    } else {
      const start = Math.floor(rng.next() * (ids.length - o.length + 1));
      windows.push(ids.slice(start, start + o.length));
    }
  }
  return windows;
}
