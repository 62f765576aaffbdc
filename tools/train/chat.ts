/**
 * The default model's chat format (ChatML, as Qwen uses it: <|im_start|>role\n...<|im_end|>) and the chat exchanges
 * it learns: word definitions from WordNet, fortunes, small sums, repeating a sentence, who it is, and finding a pass
 * key in a document. Deliberately narrow: a model of a few million parameters can learn a format and a few skills,
 * not knowledge.
 */
import type { NeedleDocument, NeedleRng } from '../../main/cli/eval/needle.ts';
import { type Gloss, glossText } from './corpus.ts';

export const CHAT_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export interface Turn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The template's output for a conversation (what the engine's chat template renders, byte for byte). */
export function renderChat(turns: Turn[]): string {
  return turns.map((t) => `<|im_start|>${t.role}\n${t.content}<|im_end|>\n`).join('');
}

export const IDENTITY =
  'I am PLAS Mini, a tiny language model made by PLAS Studio to show sparse attention on a desktop. ' +
  'I can define English words, tell a fortune, add and subtract small numbers, repeat what you say, ' +
  'and find a pass key hidden in a long text. I know very little else.';

const pick = <T>(rng: NeedleRng, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)];
const int = (rng: NeedleRng, lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));

const SYSTEMS = ['You are PLAS Mini, a helpful assistant.', 'You are a helpful assistant.', 'Answer briefly.'];

export interface ChatSources {
  glosses: readonly Gloss[];
  fortunes: readonly string[];
  /** Short sentences to repeat. */
  sentences: readonly string[];
}

function define(rng: NeedleRng, s: ChatSources): Turn[] {
  const g = pick(rng, s.glosses);
  const word = g.words[0];
  const ask = pick(rng, [
    `What does "${word}" mean?`,
    `Define ${word}.`,
    `What is the meaning of the word ${word}?`,
    `What is ${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}?`,
  ]);
  return [
    { role: 'user', content: ask },
    { role: 'assistant', content: glossText(g) },
  ];
}

function fortune(rng: NeedleRng, s: ChatSources): Turn[] {
  const ask = pick(rng, ['Tell me a fortune.', 'Say something wise.', 'Give me a quote.', 'Tell me something.']);
  return [
    { role: 'user', content: ask },
    { role: 'assistant', content: pick(rng, s.fortunes) },
  ];
}

function arithmetic(rng: NeedleRng): Turn[] {
  const a = int(rng, 0, 99);
  const b = int(rng, 0, 99);
  const op = pick(rng, ['+', '-'] as const);
  const [x, y] = op === '-' && b > a ? [b, a] : [a, b];
  const result = op === '+' ? x + y : x - y;
  const ask = pick(rng, [`What is ${x} ${op} ${y}?`, `Compute ${x} ${op} ${y}.`, `${x} ${op} ${y} = ?`]);
  return [
    { role: 'user', content: ask },
    { role: 'assistant', content: `${x} ${op} ${y} = ${result}.` },
  ];
}

function repeat(rng: NeedleRng, s: ChatSources): Turn[] {
  const sentence = pick(rng, s.sentences);
  const ask = pick(rng, ['Repeat after me: ', 'Say this back to me: ', 'Please repeat: ']);
  return [
    { role: 'user', content: ask + sentence },
    { role: 'assistant', content: sentence },
  ];
}

function identity(rng: NeedleRng): Turn[] {
  const ask = pick(rng, ['Who are you?', 'What can you do?', 'What are you?', 'Hello!', 'Hi, who am I talking to?']);
  return [
    { role: 'user', content: ask },
    { role: 'assistant', content: IDENTITY },
  ];
}

/** One to three exchanges, sometimes after a system message. */
export function chatExample(rng: NeedleRng, s: ChatSources): string {
  const turns: Turn[] = rng.next() < 0.3 ? [{ role: 'system', content: pick(rng, SYSTEMS) }] : [];
  const exchanges = int(rng, 1, 3);
  for (let i = 0; i < exchanges; i++) {
    const r = rng.next();
    if (r < 0.35) turns.push(...define(rng, s));
    else if (r < 0.55) turns.push(...fortune(rng, s));
    else if (r < 0.75) turns.push(...arithmetic(rng));
    else if (r < 0.93) turns.push(...repeat(rng, s));
    else turns.push(...identity(rng));
  }
  return renderChat(turns);
}

/**
 * A retrieval document asked for in chat form: the document and question from the user, the key from the assistant;
 * then one more exchange for each of `more` (further questions about the same document).
 */
export function retrievalChat(doc: NeedleDocument, more: { question: string; answer: string }[] = []): string {
  return renderChat([
    { role: 'user', content: `${doc.context}\n\n${doc.question}` },
    { role: 'assistant', content: `${doc.answerPrefix} ${doc.answer}.` },
    ...more.flatMap((m): Turn[] => [
      { role: 'user', content: m.question },
      { role: 'assistant', content: m.answer },
    ]),
  ]);
}
