/**
 * The vocabulary XGrammar needs from a model's tokenizer: every token string in id order, as tokenizer.json spells
 * it, and how those strings encode bytes (read from tokenizer.json's decoder).
 */
import { readFile } from 'node:fs/promises';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { VocabType } from './protocol.ts';

/** Token strings by id, added tokens included; '' for ids without a token (XGrammar never allows those). */
export function tokenStrings(tokenizer: Tokenizer): string[] {
  const vocab = new Array<string>(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) vocab[id] = tokenizer.idToToken(id) ?? '';
  return vocab;
}

/**
 * ByteLevel (GPT-2 style: Qwen, Llama 3) -> byte_level; ByteFallback or Metaspace (SentencePiece style: "▁" for a
 * space, "<0x0A>" for a byte; Llama 2, Mistral, Gemma) -> byte_fallback; anything else (WordPiece, ...) -> raw.
 */
export function vocabTypeOfDecoder(decoder: unknown): VocabType {
  const types = new Set<string>();
  const visit = (d: unknown): void => {
    if (typeof d !== 'object' || d === null) return;
    const { type, decoders } = d as { type?: unknown; decoders?: unknown };
    if (typeof type === 'string') types.add(type);
    if (Array.isArray(decoders)) decoders.forEach(visit);
  };
  visit(decoder);
  if (types.has('ByteLevel')) return 'byte_level';
  if (types.has('ByteFallback') || types.has('Metaspace')) return 'byte_fallback';
  return 'raw';
}

export async function vocabTypeOfFile(tokenizerJsonPath: string): Promise<VocabType> {
  const json = JSON.parse(await readFile(tokenizerJsonPath, 'utf8')) as { decoder?: unknown };
  return vocabTypeOfDecoder(json.decoder);
}
