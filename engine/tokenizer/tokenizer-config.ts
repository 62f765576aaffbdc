/**
 * Reads the parts of an untrusted tokenizer_config.json the engine uses: the special token strings, the extra
 * special tokens, and the chat template(s). Anything else in the file (model_max_length, padding side, the
 * tokenizer class) is ignored: it concerns training and batching in transformers, not inference here.
 */

import { TokenizerLoadError } from './errors.ts';
import { describe, isObject } from './json-shape.ts';

export interface TokenizerConfig {
  /** The special token strings as the config names them; passed to chat templates as bos_token, eos_token, ... */
  specialTokens: Partial<Record<SpecialTokenName, string>>;
  additionalSpecialTokens: string[];
  /** Chat templates by name; a single template is named "default" (as transformers does). */
  chatTemplates: Map<string, string>;
  /** Two flags of old SentencePiece-era configs that change encoding; the library applies them. */
  removeSpace: boolean;
  lowercaseAndRemoveAccent: boolean;
}

export const SPECIAL_TOKEN_NAMES = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;
export type SpecialTokenName = (typeof SPECIAL_TOKEN_NAMES)[number];

export function parseTokenizerConfig(json: unknown, file: string): TokenizerConfig {
  const fail = (detail: string) => new TokenizerLoadError(file, detail);
  if (!isObject(json)) throw fail(`expected a JSON object, found ${describe(json)}`);

  const specialTokens: TokenizerConfig['specialTokens'] = {};
  for (const name of SPECIAL_TOKEN_NAMES) {
    const token = tokenString(json[name], name, fail);
    if (token !== undefined) specialTokens[name] = token;
  }

  const extra = json['additional_special_tokens'] ?? [];
  if (!Array.isArray(extra)) throw fail(`additional_special_tokens must be an array, found ${describe(extra)}`);
  const additionalSpecialTokens = extra.map((t, i) => {
    const s = tokenString(t, `additional_special_tokens[${i}]`, fail);
    if (s === undefined) throw fail(`additional_special_tokens[${i}] must be a token, found ${describe(t)}`);
    return s;
  });

  return {
    specialTokens,
    additionalSpecialTokens,
    chatTemplates: chatTemplates(json['chat_template'], 'chat_template', fail),
    removeSpace: flag(json['remove_space'], 'remove_space', fail),
    lowercaseAndRemoveAccent: flag(json['do_lowercase_and_remove_accent'], 'do_lowercase_and_remove_accent', fail),
  };
}

/**
 * A chat template value: a string, or (newer configs with several templates, e.g. "default" and "tool_use") a list
 * of {name, template}. Used for tokenizer_config.json's chat_template and for chat_template.json.
 */
export function chatTemplates(
  value: unknown,
  where: string,
  fail: (detail: string) => TokenizerLoadError,
): Map<string, string> {
  const out = new Map<string, string>();
  if (value === undefined || value === null) return out;
  if (typeof value === 'string') return out.set('default', value);
  if (!Array.isArray(value)) {
    throw fail(`${where} must be a string or a list of {name, template}, found ${describe(value)}`);
  }
  value.forEach((entry, i) => {
    if (!isObject(entry) || typeof entry['name'] !== 'string' || typeof entry['template'] !== 'string') {
      throw fail(`${where}[${i}] must be {"name": string, "template": string}, found ${describe(entry)}`);
    }
    out.set(entry['name'], entry['template']);
  });
  return out;
}

/** A token is written either as its string or as a serialized AddedToken object {"content": ..., ...}. */
function tokenString(value: unknown, where: string, fail: (d: string) => TokenizerLoadError): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['content'] === 'string') return value['content'];
  throw fail(`${where} must be a string, an object with a string "content", or null; found ${describe(value)}`);
}

function flag(value: unknown, where: string, fail: (d: string) => TokenizerLoadError): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw fail(`${where} must be true or false, found ${describe(value)}`);
  return value;
}
