/**
 * Checks an untrusted tokenizer.json before the tokenizer library sees it. The library assumes a well-formed file
 * and fails deep inside (`x.split is not a function`, or silently encodes everything to []) on a bad one; this turns
 * each such case into a TokenizerLoadError that names the file and the field. It checks the parts the library
 * indexes directly (model, vocab, merges, added tokens, the type of each pipeline stage); deeper problems (a bad
 * regex in a pre-tokenizer) are left to the library, and the caller wraps what it throws.
 */

import { TokenizerLoadError } from './errors.ts';
import { describe, isObject, type JsonObject } from './json-shape.ts';

/**
 * Token ids must stay below this. Vocabularies are at most a few hundred thousand tokens; a huge id in a corrupt
 * file would make the library (and vocabSize) allocate an id space of that size.
 */
export const MAX_TOKEN_ID = 1 << 24;

const SUPPORTED_MODELS = ['BPE', 'Unigram', 'WordPiece'];
const STAGES = ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;

export interface CheckedTokenizerJson {
  /**
   * A copy of the top level with the optional parts filled in (the library requires every stage key to be present,
   * while the Rust tokenizers crate, and files written by hand, may leave them out).
   */
  json: JsonObject;
  /** The largest token id, added tokens included (found here because asking the library costs a vocabulary copy). */
  maxId: number;
}

export function checkTokenizerJson(json: unknown, file: string): CheckedTokenizerJson {
  const fail = (detail: string) => new TokenizerLoadError(file, detail);
  if (!isObject(json)) throw fail(`expected a JSON object, found ${describe(json)}`);

  const model = json['model'];
  if (!isObject(model)) throw fail(`"model" must be an object, found ${describe(model)}`);
  const type = model['type'];
  let maxId: number;
  if (type === 'BPE') {
    maxId = checkIdMap(model['vocab'], 'model.vocab', fail);
    checkMerges(model['merges'], fail);
    checkOptionalString(model['unk_token'], 'model.unk_token', fail);
  } else if (type === 'WordPiece') {
    maxId = checkIdMap(model['vocab'], 'model.vocab', fail);
    checkOptionalString(model['unk_token'], 'model.unk_token', fail);
  } else if (type === 'Unigram') {
    maxId = checkUnigram(model, fail);
  } else {
    throw fail(`model.type is ${describe(type)}; supported: ${SUPPORTED_MODELS.join(', ')}`);
  }

  const added = json['added_tokens'] ?? [];
  if (!Array.isArray(added)) throw fail(`"added_tokens" must be an array, found ${describe(added)}`);
  added.forEach((token, i) => {
    checkAddedToken(token, `added_tokens[${i}]`, fail);
    maxId = Math.max(maxId, token.id);
  });

  const out: JsonObject = { ...json, added_tokens: added };
  for (const stage of STAGES) {
    const value = json[stage] ?? null;
    if (value !== null && !(isObject(value) && typeof value['type'] === 'string')) {
      throw fail(`"${stage}" must be null or an object with a string "type", found ${describe(value)}`);
    }
    out[stage] = value;
  }
  return { json: out, maxId };
}

type Fail = (detail: string) => TokenizerLoadError;

function isTokenId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < MAX_TOKEN_ID;
}

/** Returns the largest id. */
function checkIdMap(vocab: unknown, where: string, fail: Fail): number {
  if (!isObject(vocab)) throw fail(`${where} must be an object mapping each token to its id, found ${describe(vocab)}`);
  let maxId = -1;
  for (const token in vocab) {
    const id = vocab[token];
    if (!isTokenId(id)) {
      throw fail(
        `${where}[${JSON.stringify(token)}] must be an integer id in [0, ${MAX_TOKEN_ID}), found ${describe(id)}`,
      );
    }
    if (id > maxId) maxId = id;
  }
  return maxId;
}

/** Merges are either all "a b" strings (older files) or all [a, b] pairs (newer); the library reads the first. */
function checkMerges(merges: unknown, fail: Fail): void {
  if (!Array.isArray(merges)) throw fail(`model.merges must be an array, found ${describe(merges)}`);
  if (merges.length === 0) return;
  const pairs = Array.isArray(merges[0]);
  merges.forEach((merge, i) => {
    const ok = pairs
      ? Array.isArray(merge) && merge.length === 2 && typeof merge[0] === 'string' && typeof merge[1] === 'string'
      : typeof merge === 'string' && merge.includes(' ');
    if (!ok) {
      const expected = pairs
        ? 'a pair of strings, like the first merge'
        : 'a string "left right", like the first merge';
      throw fail(`model.merges[${i}] must be ${expected}, found ${describe(merge)}`);
    }
  });
}

/** Returns the largest id (ids are positions in the vocabulary list). */
function checkUnigram(model: JsonObject, fail: Fail): number {
  const vocab = model['vocab'];
  if (!Array.isArray(vocab)) throw fail(`model.vocab of a Unigram model must be an array, found ${describe(vocab)}`);
  if (vocab.length > MAX_TOKEN_ID) throw fail(`model.vocab has ${vocab.length} entries, more than ${MAX_TOKEN_ID}`);
  vocab.forEach((entry, i) => {
    if (!(Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number')) {
      throw fail(`model.vocab[${i}] must be a [piece, score] pair, found ${describe(entry)}`);
    }
  });
  const unk = model['unk_id'];
  if (unk !== undefined && unk !== null && !(isTokenId(unk) && unk < vocab.length)) {
    throw fail(
      `model.unk_id must be null or an index into model.vocab (${vocab.length} entries), found ${describe(unk)}`,
    );
  }
  return vocab.length - 1;
}

function checkAddedToken(token: unknown, where: string, fail: Fail): asserts token is { id: number } {
  if (!isObject(token)) throw fail(`${where} must be an object, found ${describe(token)}`);
  if (!isTokenId(token['id'])) {
    throw fail(`${where}.id must be an integer id in [0, ${MAX_TOKEN_ID}), found ${describe(token['id'])}`);
  }
  const content = token['content'];
  if (typeof content !== 'string' || content.length === 0) {
    throw fail(`${where}.content must be a non-empty string, found ${describe(content)}`);
  }
  for (const flag of ['special', 'lstrip', 'rstrip', 'single_word', 'normalized']) {
    const value = token[flag];
    if (value !== undefined && typeof value !== 'boolean') {
      throw fail(`${where}.${flag} must be true or false, found ${describe(value)}`);
    }
  }
}

function checkOptionalString(value: unknown, where: string, fail: Fail): void {
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw fail(`${where} must be a string or null, found ${describe(value)}`);
  }
}
