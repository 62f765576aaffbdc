/**
 * The JSON inside a tool call as a model writes it: finding where it ends while text still arrives (brackets and
 * markers inside JSON strings do not count), and reading a parsed value as calls.
 */

import type { ToolCallFormat } from '../serving/types.ts';

/**
 * Walks JSON text left to right across calls, remembering where it stopped and whether it is inside a string, so
 * text that arrives in pieces is scanned once. One scanner per piece of JSON; `text` must only grow between calls.
 */
export class JsonScanner {
  private pos = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** The end (exclusive) of the object or array that opens at text[0], or -1 while it is not closed. */
  valueEnd(text: string): number {
    for (; this.pos < text.length; this.pos++) {
      const c = text[this.pos];
      if (this.skipString(c)) continue;
      if (c === '{' || c === '[') this.depth++;
      else if ((c === '}' || c === ']') && --this.depth === 0) return ++this.pos;
    }
    return -1;
  }

  /**
   * Where `tag` first occurs outside JSON strings, or -1. A partial `tag` at the end of `text` is not passed over,
   * so the next call, with more text, finds it.
   */
  find(text: string, tag: string): number {
    for (; this.pos < text.length; this.pos++) {
      const c = text[this.pos];
      if (this.skipString(c)) continue;
      if (c === tag[0]) {
        if (text.startsWith(tag, this.pos)) return this.pos;
        if (tag.startsWith(text.slice(this.pos))) return -1;
      }
    }
    return -1;
  }

  /** Steps over string characters (and the quote opening one); true if `c` was one. */
  private skipString(c: string): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === '\\') this.escaped = true;
      else if (c === '"') this.inString = false;
      return true;
    }
    if (c === '"') {
      this.inString = true;
      return true;
    }
    return false;
  }
}

/**
 * Whether `text`, the start of a would-be call with no marker before it, can still be one: an object opening with a
 * key, or (Mistral) an array whose first element is. 'unknown' until enough non-space characters have arrived.
 */
export function plausibleCallStart(text: string, kind: 'object' | 'array'): 'yes' | 'no' | 'unknown' {
  const expected = kind === 'object' ? ['{', '"}'] : ['[', '{', '"}'];
  let k = 0;
  for (const c of text) {
    if (k === expected.length) break;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (!expected[k].includes(c)) return 'no';
    k++;
  }
  return k === expected.length ? 'yes' : 'unknown';
}

export interface CallText {
  name: string;
  /** JSON text of the arguments object. */
  arguments: string;
}

/**
 * One call from a parsed `{"name": ..., "arguments" | "parameters": {...}}` (Llama writes "parameters", the others
 * "arguments"; vLLM takes either everywhere). Arguments given as JSON text of an object are accepted too, and no
 * arguments at all is an empty object. Undefined when the value is not a call.
 */
export function readCall(value: unknown): CallText | undefined {
  if (!isObject(value) || typeof value.name !== 'string' || value.name === '') return undefined;
  let args = 'arguments' in value ? value.arguments : value.parameters;
  if (args === undefined) args = {};
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch {
      return undefined;
    }
  }
  if (!isObject(args)) return undefined;
  // Re-written compactly: the text a client receives is then the same however the model spaced it.
  return { name: value.name, arguments: JSON.stringify(args) };
}

export type CallReading =
  /** The text is one or more valid calls. */
  | { kind: 'calls'; calls: CallText[] }
  /** Valid JSON with no "name" anywhere: an answer in JSON, not an attempt at a call. */
  | { kind: 'not-a-call' }
  | { kind: 'malformed' };

/** The JSON text of a call (hermes, llama3) or of an array of calls (mistral) read as calls. */
export function readCallJson(text: string, format: ToolCallFormat): CallReading {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'malformed' };
  }
  const items = format === 'mistral' && Array.isArray(value) ? value : [value];
  if (format === 'mistral' && !Array.isArray(value)) return { kind: 'malformed' };
  const calls = items.map(readCall);
  if (calls.length > 0 && calls.every((c) => c !== undefined)) return { kind: 'calls', calls: calls as CallText[] };
  return items.some((item) => isObject(item) && 'name' in item) ? { kind: 'malformed' } : { kind: 'not-a-call' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
