/**
 * A GGUF file's tokenizer (`tokenizer.ggml.*` metadata) as the tokenizer.json + tokenizer_config.json objects the
 * model's Hugging Face folder would have, loaded through Tokenizer.fromJson: the same library produces the ids, so a
 * GGUF model and its safetensors original tokenize alike.
 *
 * - "gpt2" (byte-level BPE: Qwen, Llama 3): the vocabulary and merges as they are; the pre-tokenizer regex (and Qwen's
 *   NFC normalizer) chosen by `tokenizer.ggml.pre`, the name llama.cpp's converter gives each known pre-tokenizer.
 * - "llama" (SentencePiece BPE with byte fallback: Llama 2, Mistral): GGUF keeps piece scores, not merges; the merges
 *   are derived from the scores exactly as transformers' SentencePieceExtractor does when it converts a
 *   tokenizer.model into tokenizer.json.
 * Token types (llama.cpp's): control and unknown tokens become special added tokens, user-defined ones non-special
 * added tokens, unused ones (the padding rows of an embedding larger than the vocabulary) are left out.
 */
import { GgufMetadata } from '../gguf/metadata.ts';
import type { GgufFile } from '../gguf/reader.ts';
import { TokenizerLoadError } from './errors.ts';
import { Tokenizer } from './tokenizer.ts';

/** llama.cpp's token types (llama_token_type). */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** The byte-level BPE split regexes, as the models' tokenizer.json files spell them. */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

interface PreTokenizer {
  split?: string;
  nfc?: boolean;
  /** Llama 3's tokenizer.json looks a whole word up in the vocabulary before merging (llama.cpp does too). */
  ignoreMerges?: boolean;
}

/** tokenizer.ggml.pre -> how its models pre-tokenize (names from llama.cpp's convert_hf_to_gguf.py). */
const PRE_TOKENIZERS: Record<string, PreTokenizer> = {
  'llama-bpe': { split: LLAMA3_SPLIT, ignoreMerges: true },
  'smaug-bpe': { split: LLAMA3_SPLIT },
  qwen2: { split: QWEN2_SPLIT, nfc: true },
  'deepseek-r1-qwen': { split: QWEN2_SPLIT, nfc: true },
  'gpt-2': {},
};
export const SUPPORTED_GGUF_PRE_TOKENIZERS = Object.keys(PRE_TOKENIZERS);

export interface GgufTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

export function tokenizerFromGguf(file: GgufFile): Tokenizer {
  const { tokenizerJson, tokenizerConfig } = ggufTokenizerFiles(file);
  return Tokenizer.fromJson(tokenizerJson, tokenizerConfig, file.path, undefined, {
    tokenizerJson: `${file.path} (tokenizer.ggml.*)`,
    tokenizerConfig: `${file.path} (tokenizer.*)`,
  });
}

/** The tokenizer.json and tokenizer_config.json equivalents of the file's tokenizer metadata. */
export function ggufTokenizerFiles(file: GgufFile): GgufTokenizerFiles {
  const m = new GgufMetadata(file);
  const fail = (detail: string) => new TokenizerLoadError(file.path, detail);
  const model = m.optionalString('tokenizer.ggml.model');
  if (model === undefined) throw fail('has no tokenizer (no tokenizer.ggml.model in its metadata)');
  const tokens = m.optionalStringArray('tokenizer.ggml.tokens');
  if (!tokens || tokens.length === 0) throw fail('has no tokenizer.ggml.tokens');
  const types = m.optionalNumberArray('tokenizer.ggml.token_type');
  if (types && types.length !== tokens.length) {
    throw fail(`tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`);
  }
  const typeOf = (id: number) => (types ? types[id] : GGUF_TOKEN_TYPE.normal);
  const tokenId = (key: string) => {
    const id = m.optionalCount(key);
    if (id !== undefined && id >= tokens.length) throw fail(`${key} ${id} is not a token id (${tokens.length} tokens)`);
    return id;
  };
  const bos = tokenId('tokenizer.ggml.bos_token_id');
  const eos = tokenId('tokenizer.ggml.eos_token_id');
  const unk = tokenId('tokenizer.ggml.unknown_token_id');
  const pad = tokenId('tokenizer.ggml.padding_token_id');

  const added: Record<string, unknown>[] = [];
  tokens.forEach((content, id) => {
    const type = typeOf(id);
    const special = type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.unknown;
    if (content === '' || !(special || type === GGUF_TOKEN_TYPE.userDefined)) return;
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  });

  let json: Record<string, unknown>;
  let addBosDefault: boolean;
  if (model === 'gpt2') {
    json = byteLevelBpe(m, tokens, typeOf, fail);
    addBosDefault = false;
  } else if (model === 'llama') {
    json = sentencePieceBpe(m, tokens, typeOf, unk);
    addBosDefault = true;
  } else {
    throw fail(`tokenizer.ggml.model "${model}" is not supported (supported: gpt2, llama)`);
  }
  const addBos = m.optionalBool('tokenizer.ggml.add_bos_token') ?? addBosDefault;
  const addEos = m.optionalBool('tokenizer.ggml.add_eos_token') ?? false;
  if (addBos && bos === undefined) throw fail('tokenizer.ggml.add_bos_token is set but there is no bos_token_id');
  if (addEos && eos === undefined) throw fail('tokenizer.ggml.add_eos_token is set but there is no eos_token_id');
  json.added_tokens = added;
  json.post_processor =
    addBos || addEos
      ? templateProcessing(addBos ? tokens[bos!] : undefined, bos, addEos ? tokens[eos!] : undefined, eos)
      : null;

  const config: Record<string, unknown> = {};
  if (bos !== undefined) config.bos_token = tokens[bos];
  if (eos !== undefined) config.eos_token = tokens[eos];
  if (unk !== undefined) config.unk_token = tokens[unk];
  if (pad !== undefined) config.pad_token = tokens[pad];
  const templates = chatTemplates(m);
  if (templates !== undefined) config.chat_template = templates;
  return { tokenizerJson: json, tokenizerConfig: config };
}

type TypeOf = (id: number) => number;

function byteLevelBpe(
  m: GgufMetadata,
  tokens: string[],
  typeOf: TypeOf,
  fail: (detail: string) => TokenizerLoadError,
): Record<string, unknown> {
  const preName = m.optionalString('tokenizer.ggml.pre') ?? 'gpt-2';
  const pre = PRE_TOKENIZERS[preName];
  if (!pre) {
    throw fail(
      `tokenizer.ggml.pre "${preName}" is a pre-tokenizer this engine does not know (known: ` +
        `${SUPPORTED_GGUF_PRE_TOKENIZERS.join(', ')}); its ids would differ from the model's`,
    );
  }
  const merges = m.optionalStringArray('tokenizer.ggml.merges');
  if (!merges) throw fail('a gpt2 (BPE) tokenizer needs tokenizer.ggml.merges');
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((token, id) => {
    const type = typeOf(id);
    if (type === GGUF_TOKEN_TYPE.normal || type === GGUF_TOKEN_TYPE.byte || type === GGUF_TOKEN_TYPE.unknown) {
      if (!(token in vocab)) vocab[token] = id;
    }
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: !pre.split };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    normalizer: pre.nfc ? { type: 'NFC' } : null,
    pre_tokenizer: pre.split
      ? {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: pre.split }, behavior: 'Isolated', invert: false },
            { ...byteLevel, use_regex: false },
          ],
        }
      : byteLevel,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre.ignoreMerges ?? false,
      vocab,
      merges,
    },
  };
}

function sentencePieceBpe(
  m: GgufMetadata,
  tokens: string[],
  typeOf: TypeOf,
  unk: number | undefined,
): Record<string, unknown> {
  const scores = m.optionalNumberArray('tokenizer.ggml.scores');
  if (scores && scores.length !== tokens.length) {
    throw new TokenizerLoadError(
      m.file.path,
      `tokenizer.ggml.scores has ${scores.length} entries for ${tokens.length} tokens`,
    );
  }
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((token, id) => {
    if (!(token in vocab)) vocab[token] = id;
  });
  const unkId = unk ?? tokens.findIndex((_, id) => typeOf(id) === GGUF_TOKEN_TYPE.unknown);
  const addSpacePrefix = m.optionalBool('tokenizer.ggml.add_space_prefix') ?? true;
  const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
  const decoders: unknown[] = [
    { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
  ];
  if (addSpacePrefix) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    normalizer: addSpacePrefix
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, replaceSpace] }
      : replaceSpace,
    pre_tokenizer: null,
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unkId >= 0 ? tokens[unkId] : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: sentencePieceMerges(tokens, vocab, scores),
    },
  };
}

/**
 * transformers' SentencePieceExtractor.extract: every split of every piece into two pieces of the vocabulary is a
 * merge, ranked by the merged piece's score (highest first; ties keep vocabulary order), a piece's own splits ordered
 * by the ids of their left, then right halves. Without scores, lower ids rank first.
 */
export function sentencePieceMerges(
  tokens: readonly string[],
  vocab: Record<string, number>,
  scores?: ArrayLike<number>,
): string[] {
  const found: { left: string; right: string; score: number }[] = [];
  tokens.forEach((piece, id) => {
    if (vocab[piece] !== id) return; // a duplicate piece: the first id holds it
    const score = scores ? scores[id] : -id;
    const local: { left: string; right: string; score: number }[] = [];
    const chars = [...piece]; // split between code points, as Python slices a str
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      if (left in vocab && right in vocab) local.push({ left, right, score });
    }
    local.sort((a, b) => vocab[a.left] - vocab[b.left] || vocab[a.right] - vocab[b.right]);
    found.push(...local);
  });
  found.sort((a, b) => b.score - a.score);
  return found.map((x) => `${x.left} ${x.right}`);
}

function templateProcessing(
  bosToken: string | undefined,
  bos: number | undefined,
  eosToken: string | undefined,
  eos: number | undefined,
): Record<string, unknown> {
  const special = (token: string | undefined, typeId: number) =>
    token === undefined ? [] : [{ SpecialToken: { id: token, type_id: typeId } }];
  const specialTokens: Record<string, unknown> = {};
  if (bosToken !== undefined) specialTokens[bosToken] = { id: bosToken, ids: [bos], tokens: [bosToken] };
  if (eosToken !== undefined) specialTokens[eosToken] = { id: eosToken, ids: [eos], tokens: [eosToken] };
  return {
    type: 'TemplateProcessing',
    single: [...special(bosToken, 0), { Sequence: { id: 'A', type_id: 0 } }, ...special(eosToken, 0)],
    pair: [
      ...special(bosToken, 0),
      { Sequence: { id: 'A', type_id: 0 } },
      ...special(eosToken, 0),
      ...special(bosToken, 1),
      { Sequence: { id: 'B', type_id: 1 } },
      ...special(eosToken, 1),
    ],
    special_tokens: specialTokens,
  };
}

/** tokenizer.chat_template, and named ones (tokenizer.chat_template.<name>, e.g. tool_use) as transformers lists them. */
function chatTemplates(m: GgufMetadata): string | { name: string; template: string }[] | undefined {
  const main = m.optionalString('tokenizer.chat_template');
  const named: { name: string; template: string }[] = [];
  for (const key of m.file.metadata.keys()) {
    if (key.startsWith('tokenizer.chat_template.')) {
      named.push({ name: key.slice('tokenizer.chat_template.'.length), template: m.string(key) });
    }
  }
  if (named.length === 0) return main;
  return main === undefined ? named : [{ name: 'default', template: main }, ...named];
}
