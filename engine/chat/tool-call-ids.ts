/**
 * Tool call ids: fresh ones for parsed calls, and ids of a request's history fitted to a template that accepts only
 * one length (Mistral v0.3's raises unless an id has 9 characters).
 */

import { createHash } from 'node:crypto';
import type { ToolCallFormat } from '../serving/types.ts';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A fresh id for a parsed call, as vLLM makes them: "call_" and 24 letters and digits (OpenAI's shape), or for
 * Mistral 9 letters and digits, the only ids its template accepts when the call comes back in the history.
 */
export function newToolCallId(format?: ToolCallFormat): string {
  const length = format === 'mistral' ? 9 : 24;
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  // 62 does not divide 256; a slight bias toward the first 8 characters does not matter for an id.
  const id = Array.from(bytes, (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');
  return format === 'mistral' ? id : `call_${id}`;
}

/**
 * `id` if it is `length` letters and digits; otherwise `length` letters and digits hashed from it, so a call and the
 * tool message answering it get the same new id, and the rendered prompt (and its prefix cache) is the same on every
 * request of a conversation.
 */
export function fitToolCallId(id: string, length: number): string {
  if (id.length === length && /^[A-Za-z0-9]*$/.test(id)) return id;
  const digest = createHash('sha256').update(id).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[digest[i % digest.length] % ALPHANUMERIC.length];
  return out;
}
