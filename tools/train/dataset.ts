/**
 * Training sequences for the default model: documents of four kinds packed into sequences of T + 1 tokens (inputs
 * and shifted targets), with `<|endoftext|>` after each document.
 * - text: Bible chapters, runs of fortunes, runs of dictionary entries (WordNet glosses);
 * - retrieval: a pass key or key-value facts hidden at a random depth of text filler and asked for at the end (for
 *   facts, every one of them is then asked and answered), 64 to T tokens long, as plain text or as a chat;
 * - echo: a passage, some other text, then the passage again: every token of the repeat is predictable by looking
 *   back, the signal that grows the induction heads retrieval needs (a needle alone gives a handful of such tokens
 *   per document, and a first run of 6M tokens without echo learnt no retrieval at all);
 * - chat: short ChatML exchanges (chat.ts).
 * Kinds are chosen so that each keeps its share of the tokens (`shares`), whatever the lengths of its documents.
 */
import { factsDocument, type Haystack, type NeedleRng, passKeyDocument } from '../../main/cli/eval/needle.ts';
import { type ChatSources, chatExample, retrievalChat } from './chat.ts';
import { type BibleChapter, chapterText, type Gloss, glossText } from './corpus.ts';

export type Kind = 'text' | 'retrieval' | 'echo' | 'chat';
const KINDS: readonly Kind[] = ['text', 'retrieval', 'echo', 'chat'];

export interface DatasetSources {
  chapters: readonly BibleChapter[];
  fortunes: readonly string[];
  glosses: readonly Gloss[];
  /** Filler for retrieval documents, with the probability of drawing from each. */
  haystacks: readonly { haystack: Haystack; weight: number }[];
  chat: ChatSources;
  /** Nouns for key-value facts. */
  names: readonly string[];
}

export interface Encoder {
  encode(text: string): number[];
  count(text: string): number;
  endOfText: number;
}

// Repetition-heavy on purpose: induction heads form after a number of tokens that falls as repeated, reliable
// bigrams grow more frequent (Aoyama et al., 2025), and runs at 20% echo learnt none within 11.5M tokens.
export const DEFAULT_SHARES: Record<Kind, number> = { text: 0.25, retrieval: 0.35, echo: 0.3, chat: 0.1 };

/** Options for the last, long phases: needles far from their question, which a uniform mix makes rare. */
export interface LongRetrieval {
  /**
   * Share of retrieval documents made to fill most of a room of 512+ tokens (80-95% of it): with lengths uniform in
   * [64, room] alone, a needle 1,500+ tokens back is rare, and those are the ones the model missed. 0 (the default)
   * draws nothing extra from the generator, so earlier runs stay reproducible.
   */
  share?: number;
  /** Long pass-key documents put their needle at depth u^2, favouring the start of the filler (the farthest). */
  shallow?: boolean;
}

export class SequenceBuilder {
  private readonly tokens: Record<Kind, number> = { text: 0, retrieval: 0, echo: 0, chat: 0 };

  constructor(
    private readonly sources: DatasetSources,
    private readonly encoder: Encoder,
    private readonly rng: NeedleRng,
    private readonly shares: Record<Kind, number> = DEFAULT_SHARES,
    private readonly long: LongRetrieval = {},
  ) {}

  /** Tokens written so far, per kind. */
  get counts(): Readonly<Record<Kind, number>> {
    return this.tokens;
  }

  /** One sequence of exactly `length` tokens. */
  sequence(length: number): number[] {
    const seq: number[] = [];
    while (seq.length < length) {
      const room = length - seq.length;
      const kind = this.nextKind();
      let ids: number[] | null = null;
      if (kind === 'retrieval' && room >= 96) ids = this.retrieval(room);
      else if (kind === 'echo' && room >= 24) ids = this.echo(room);
      else if (kind === 'chat') ids = this.chat(room);
      const used: Kind = ids ? kind : 'text';
      ids ??= this.text(room);
      const piece = ids.slice(0, room);
      this.tokens[used] += piece.length;
      seq.push(...piece);
    }
    return seq;
  }

  /** The kind furthest below its share of the tokens written so far. */
  private nextKind(): Kind {
    const total = KINDS.reduce((n, k) => n + this.tokens[k], 1);
    let best: Kind = 'text';
    let deficit = -Infinity;
    for (const kind of KINDS) {
      const d = this.shares[kind] - this.tokens[kind] / total + 0.02 * this.rng.next();
      if (d > deficit) [best, deficit] = [kind, d];
    }
    return best;
  }

  private retrieval(room: number): number[] | null {
    const { haystacks, names } = this.sources;
    const rng = this.rng;
    const haystack = pickWeighted(haystacks, rng.next()).haystack;
    const share = this.long.share ?? 0;
    const long = share > 0 && room >= 512 && rng.next() < share;
    // Both leave room for the answer and the end of text.
    const target = long ? Math.floor((0.8 + 0.15 * rng.next()) * room) - 80 : 64 + Math.floor(rng.next() * (room - 80));
    const count = (t: string) => this.encoder.count(t);
    const digits = 3 + Math.floor(rng.next() * 5);
    const depth = long && this.long.shallow ? rng.next() ** 2 : undefined;
    const doc =
      rng.next() < 0.6
        ? passKeyDocument(haystack, count, rng, { tokens: target, digits, depth })
        : factsDocument(haystack, count, rng, { tokens: target, digits, names, facts: 2 + Math.floor(rng.next() * 5) });
    // Key-value documents then ask for the other facts too, in random order: more lookups per document.
    const more = (doc.facts ?? [])
      .filter((f) => f.value !== doc.answer)
      .sort(() => rng.next() - 0.5)
      .map((f) => ({
        question: `What is the special magic number for ${f.name}?`,
        answer: `The special magic number for ${f.name} is ${f.value}.`,
      }));
    const text =
      rng.next() < 0.65
        ? [`${doc.prompt} ${doc.answer}.`, ...more.map((m) => `${m.question} ${m.answer}`)].join('\n')
        : retrievalChat(doc, more);
    const ids = [...this.encoder.encode(text), this.encoder.endOfText];
    return ids.length <= room ? ids : null; // a cut retrieval document would teach nothing
  }

  /** A passage of 8 to 160 tokens (at most a third of the room), other text, then the passage again. */
  private echo(room: number): number[] | null {
    const rng = this.rng;
    const haystack = pickWeighted(this.sources.haystacks, rng.next()).haystack;
    const passageTokens = Math.min(8 + Math.floor(rng.next() * 152), Math.floor(room / 3));
    const passage = haystack.take(rng, passageTokens).sentences.join('');
    if (!passage) return null;
    const gap = haystack.take(rng, Math.floor(rng.next() * (room - 3 * passageTokens))).sentences.join('');
    const ids = [...this.encoder.encode(`${passage}${gap}${passage}`.trim()), this.encoder.endOfText];
    return ids.length <= room ? ids : null;
  }

  private chat(room: number): number[] | null {
    const ids = [...this.encoder.encode(chatExample(this.rng, this.sources.chat)), this.encoder.endOfText];
    return ids.length <= room ? ids : null;
  }

  /** A text document; it may be longer than the room left, and is then cut. */
  private text(room: number): number[] {
    const { chapters, fortunes, glosses } = this.sources;
    const rng = this.rng;
    const r = rng.next();
    let text: string;
    if (r < 0.45) {
      text = chapterText(chapters[Math.floor(rng.next() * chapters.length)]);
    } else if (r < 0.7) {
      const parts: string[] = [];
      let chars = 0;
      while (chars < room * 4) {
        const f = fortunes[Math.floor(rng.next() * fortunes.length)];
        parts.push(f);
        chars += f.length;
      }
      text = parts.join('\n\n');
    } else {
      // Dictionary entries in runs, in the order WordNet lists them (related senses sit together).
      const start = Math.floor(rng.next() * glosses.length);
      const parts: string[] = [];
      let chars = 0;
      for (let i = start; chars < room * 4 && i < start + 400; i++) {
        const g = glossText(glosses[i % glosses.length]);
        parts.push(g);
        chars += g.length;
      }
      text = parts.join('\n');
    }
    return [...this.encoder.encode(text), this.encoder.endOfText];
  }
}

/** The item whose cumulative weight first exceeds u x total weight. */
function pickWeighted<T extends { weight: number }>(items: readonly T[], u: number): T {
  let r = u * items.reduce((a, h) => a + h.weight, 0);
  for (const item of items) {
    r -= item.weight;
    if (r < 0) return item;
  }
  return items[0];
}
