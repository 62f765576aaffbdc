/**
 * The default model's tokenizer: byte-level BPE with a small vocabulary (4,096 ids), trained with Hugging Face's own
 * `tokenizers` library on the training text, and written as the tokenizer.json every Hugging Face loader reads.
 *
 * Digits are split one by one before the byte-level step (as Qwen and Llama 3 do): a pass key of five digits is then
 * five tokens the model copies one at a time, rather than arbitrary BPE chunks.
 *
 * The Node binding trains with the default trainer (30,000 merges); we keep the first merges, in the order the trainer
 * learnt them, which is exactly a BPE trained to the smaller size. Ids 0-255 are the 256 bytes (so no input is ever
 * unrepresentable), then the kept merges, then the special tokens at the top.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const VOCAB_SIZE = 4096;
export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** GPT-2's map from bytes to printable characters, which byte-level BPE vocabularies are written in. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const chars: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    chars[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return chars;
}

interface TrainedJson {
  model: { merges: (string | [string, string])[] };
}

/**
 * Train on `files` (plain UTF-8 text) and write tokenizer.json to `out` with `vocabSize` ids (default 4,096).
 * Returns the number of merges kept.
 */
export function trainTokenizer(files: string[], out: string, vocabSize = VOCAB_SIZE): number {
  // The training library is a dev dependency of this offline tool only; the engine reads the result with
  // @huggingface/tokenizers.
  const tk = createRequire(import.meta.url)('tokenizers');
  const trainer = new tk.Tokenizer(tk.BPE.empty());
  trainer.setPreTokenizer(
    tk.sequencePreTokenizer([tk.digitsPreTokenizer(true), tk.byteLevelPreTokenizer(false, true)]),
  );
  trainer.train(files);
  const tmp = `${out}.trained.json`;
  trainer.save(tmp, false);
  const trained = JSON.parse(readFileSync(tmp, 'utf8')) as TrainedJson;
  rmSync(tmp);

  const byteChars = bytesToUnicode();
  const vocab: Record<string, number> = {};
  byteChars.forEach((c, i) => {
    vocab[c] = i;
  });
  const numMerges = vocabSize - 256 - SPECIAL_TOKENS.length;
  const merges: [string, string][] = [];
  for (const m of trained.model.merges) {
    if (merges.length === numMerges) break;
    const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
    const merged = a + b;
    if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} + ${b} uses a token not yet in the vocabulary`);
    if (merged in vocab) continue;
    vocab[merged] = 256 + merges.length;
    merges.push([a, b]);
  }
  if (merges.length < numMerges) throw new Error(`the trainer learnt only ${merges.length} merges, need ${numMerges}`);
  const firstSpecial = vocabSize - SPECIAL_TOKENS.length;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, i) => ({
      id: firstSpecial + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Digits', individual_digits: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  writeFileSync(out, JSON.stringify(json));
  return merges.length;
}
