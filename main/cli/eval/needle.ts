/**
 * Needle-in-a-haystack documents: a pass key (or a few key-value facts) hidden at a chosen depth in filler text and
 * asked for at the end. The same builder makes the default model's training documents (tools/train) and the prompts
 * of `plas eval retrieval`, so the model is evaluated on the format it learnt, with filler it never saw.
 */

export interface NeedleRng {
  /** Uniform in [0, 1). */
  next(): number;
}

/** Counts the tokens of a piece of text with the model's tokenizer. */
export type CountTokens = (text: string) => number;

export const PASS_KEY_INTRO =
  'There is an important piece of information hidden inside a lot of irrelevant text. Find it and memorize it. ' +
  'I will quiz you about it.';

/** Tokens a needle prompt leaves free within its context length, for the generated answer (up to 16 tokens). */
export const ANSWER_ROOM = 16;

export interface NeedleDocument {
  /** The whole document up to the question; the model continues it: `${context}\n${question} ${answerPrefix}`. */
  prompt: string;
  /** The intro and the haystack with the needle(s) in it. */
  context: string;
  /** e.g. "What is the pass key?" */
  question: string;
  /** e.g. "The pass key is"; the answer follows it after a space. */
  answerPrefix: string;
  /** What a correct continuation starts with (after whitespace), e.g. "68231". */
  answer: string;
  /** Where the needle landed, as a fraction of the filler before it. */
  depth: number;
  /** Tokens of `prompt` by the counter's estimate (sum of its parts). */
  tokens: number;
  /** Key-value documents: every fact hidden, the asked one included. */
  facts?: { name: string; value: string }[];
}

/** A random key of `digits` digits, not starting with 0. */
export function randomDigits(rng: NeedleRng, digits: number): string {
  let s = String(1 + Math.floor(rng.next() * 9));
  while (s.length < digits) s += String(Math.floor(rng.next() * 10));
  return s;
}

/**
 * Sentences of filler, each with its token count, to draw haystacks from. Splits on sentence ends; every sentence
 * keeps a leading space so that pieces join exactly as the whole text would be written.
 */
export class Haystack {
  readonly sentences: string[] = [];
  readonly counts: number[] = [];

  constructor(text: string, count: CountTokens) {
    for (const raw of text.split(/(?<=[.!?;:])\s+/)) {
      const s = raw.replace(/\s+/g, ' ').trim();
      if (s.length < 2) continue;
      this.sentences.push(` ${s}`);
      this.counts.push(count(` ${s}`));
    }
    if (this.sentences.length < 8) throw new Error(`the filler text has only ${this.sentences.length} sentences`);
  }

  /** Consecutive sentences from a random start (wrapping around) until about `tokens` tokens. */
  take(rng: NeedleRng, tokens: number): { sentences: string[]; counts: number[] } {
    const sentences: string[] = [];
    const counts: number[] = [];
    let i = Math.floor(rng.next() * this.sentences.length);
    let total = 0;
    while (total + this.counts[i] <= tokens && sentences.length < this.sentences.length) {
      sentences.push(this.sentences[i]);
      counts.push(this.counts[i]);
      total += this.counts[i];
      i = (i + 1) % this.sentences.length;
    }
    return { sentences, counts };
  }
}

/**
 * Put each needle into the filler after the sentence nearest its depth (0 = before all of it, 1 = after all of it).
 * Needles at the same place keep their order.
 */
function insertAt(
  filler: { sentences: string[]; counts: number[] },
  needles: { text: string; depth: number }[],
): string {
  const total = filler.counts.reduce((a, b) => a + b, 0);
  const places = needles.map(({ depth }) => {
    let at = 0;
    let seen = 0;
    while (at < filler.sentences.length && seen + filler.counts[at] / 2 < depth * total) {
      seen += filler.counts[at];
      at++;
    }
    return at;
  });
  const out: string[] = [];
  for (let i = 0; i <= filler.sentences.length; i++) {
    needles.forEach((n, j) => {
      if (places[j] === i) out.push(n.text);
    });
    if (i < filler.sentences.length) out.push(filler.sentences[i]);
  }
  return out.join('');
}

export interface PassKeyOptions {
  /** Tokens the whole prompt should have, about (never more). */
  tokens: number;
  /** 0..1; default random. */
  depth?: number;
  /** Digits of the key; default 5. */
  digits?: number;
}

/** The pass-key test (Mohtashami & Jaggi, 2023): a key hidden in filler, asked for at the end. */
export function passKeyDocument(
  haystack: Haystack,
  count: CountTokens,
  rng: NeedleRng,
  options: PassKeyOptions,
): NeedleDocument {
  const key = randomDigits(rng, options.digits ?? 5);
  const depth = options.depth ?? rng.next();
  const needle = ` The pass key is ${key}. Remember it. ${key} is the pass key.`;
  const question = 'What is the pass key?';
  const answerPrefix = 'The pass key is';
  const tail = `\n${question} ${answerPrefix}`;
  const fixed = count(PASS_KEY_INTRO) + count(needle) + count(tail);
  const filler = haystack.take(rng, Math.max(0, options.tokens - fixed));
  const context = PASS_KEY_INTRO + insertAt(filler, [{ text: needle, depth }]);
  const tokens = fixed + filler.counts.reduce((a, b) => a + b, 0);
  return { prompt: context + tail, context, question, answerPrefix, answer: key, depth, tokens };
}

export interface FactsOptions extends PassKeyOptions {
  /** Key-value facts hidden (one is asked for); default 4. */
  facts?: number;
  /** Names the facts are about (e.g. nouns); needs at least `facts`. */
  names: readonly string[];
}

/** Several "The special magic number for X is N." facts at random depths; one of them is asked for. */
export function factsDocument(
  haystack: Haystack,
  count: CountTokens,
  rng: NeedleRng,
  options: FactsOptions,
): NeedleDocument {
  const n = options.facts ?? 4;
  const names = new Set<string>();
  while (names.size < n) names.add(options.names[Math.floor(rng.next() * options.names.length)]);
  const facts = [...names].map((name) => ({ name, value: randomDigits(rng, options.digits ?? 4) }));
  const asked = facts[Math.floor(rng.next() * n)];
  const intro = 'Some special magic numbers are hidden in the text below. Memorize them.';
  const question = `What is the special magic number for ${asked.name}?`;
  const answerPrefix = `The special magic number for ${asked.name} is`;
  const tail = `\n${question} ${answerPrefix}`;
  const needles = facts.map((f) => ` The special magic number for ${f.name} is ${f.value}.`);
  const fixed = count(intro) + count(tail) + needles.reduce((a, s) => a + count(s), 0);
  const filler = haystack.take(rng, Math.max(0, options.tokens - fixed));
  const placed = needles.map((text) => ({ text, depth: rng.next() }));
  const tokens = fixed + filler.counts.reduce((a, b) => a + b, 0);
  const context = intro + insertAt(filler, placed);
  return {
    prompt: context + tail,
    context,
    question,
    answerPrefix,
    answer: asked.value,
    depth: placed[facts.indexOf(asked)].depth,
    tokens,
    facts,
  };
}

/** Whether a continuation answers `answer`: its first run of digits is exactly the answer. */
export function isCorrect(continuation: string, answer: string): boolean {
  const m = /\d+/.exec(continuation);
  return m !== null && m[0] === answer && continuation.slice(0, m.index).trim() === '';
}
