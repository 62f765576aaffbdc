/**
 * The engine's TokenLogprob (ids) -> OpenAI's two logprob shapes: chat's `{content: [{token, logprob, bytes,
 * top_logprobs}]}` and completions' `{tokens, token_logprobs, top_logprobs, text_offset}`.
 *
 * A token's text is its own decoding; a byte-level BPE token that is part of a UTF-8 character decodes to U+FFFD, so
 * its bytes are read from the token's byte-level spelling (GPT-2's byte-to-unicode table) or its <0xNN> form, and
 * its text is written "bytes:\xNN" as OpenAI does.
 */
import type { TokenLogprob } from '../../../engine/serving/types.ts';
import type { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';

export interface TokenText {
  token: string;
  bytes: number[];
}

/** GPT-2's byte-level alphabet: printable bytes map to themselves, the rest to U+0100 onwards. */
const BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return map;
})();

function rawBytes(piece: string | undefined): number[] | null {
  if (piece === undefined) return null;
  const hex = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  if (hex) return [Number.parseInt(hex[1], 16)];
  const out: number[] = [];
  for (const ch of piece) {
    const b = BYTE_OF_CHAR.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return out;
}

/** Texts of token ids, cached per tokenizer (a logprobs stream asks for the same ids again and again). */
const cache = new WeakMap<Tokenizer, Map<number, TokenText>>();
const CACHE_MAX = 65536;

export function tokenText(tokenizer: Tokenizer, id: number): TokenText {
  let byId = cache.get(tokenizer);
  if (!byId) {
    byId = new Map();
    cache.set(tokenizer, byId);
  }
  const hit = byId.get(id);
  if (hit) return hit;
  const decoded = tokenizer.decode([id]);
  let result: TokenText;
  if (!decoded.includes('\uFFFD')) result = { token: decoded, bytes: [...Buffer.from(decoded, 'utf8')] };
  else {
    const bytes = rawBytes(tokenizer.idToToken(id)) ?? [...Buffer.from(decoded, 'utf8')];
    const text = Buffer.from(bytes).toString('utf8');
    const token = text.includes('\uFFFD')
      ? `bytes:${bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}`
      : text;
    result = { token, bytes };
  }
  if (byId.size >= CACHE_MAX) byId.clear();
  byId.set(id, result);
  return result;
}

export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export function chatLogprobs(tokenizer: Tokenizer, items: readonly TokenLogprob[]): ChatLogprob[] {
  return items.map((lp) => ({
    ...tokenText(tokenizer, lp.id),
    logprob: lp.logprob,
    top_logprobs: lp.top.map((t) => ({ ...tokenText(tokenizer, t.id), logprob: t.logprob })),
  }));
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** `offset`: characters of text before these tokens (the choice's text so far, echo included). */
export function completionLogprobs(
  tokenizer: Tokenizer,
  items: readonly TokenLogprob[],
  offset: number,
): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let at = offset;
  for (const lp of items) {
    const { token } = tokenText(tokenizer, lp.id);
    out.tokens.push(token);
    out.token_logprobs.push(lp.logprob);
    // Null prototype: a token that decodes to "__proto__" is a key like any other. Two ids can decode alike; the
    // first (most likely) keeps the key.
    const top: Record<string, number> = Object.create(null);
    for (const t of lp.top) {
      const key = tokenText(tokenizer, t.id).token;
      if (!(key in top)) top[key] = t.logprob;
    }
    out.top_logprobs.push(top);
    out.text_offset.push(at);
    at += token.startsWith('bytes:') ? 0 : token.length;
  }
  return out;
}
