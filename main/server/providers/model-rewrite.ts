/**
 * A provider names its own model in its answers ("plas-mini"); the client asked for "NAME/MODEL", and must get that
 * id back (an SDK or a chat UI that keys its state by the model it asked for would otherwise see another model).
 * - a non-streamed JSON body: its top-level `model`, and `response.model` (the Responses API);
 * - a stream (SSE): each `data:` line is rewritten on its own as it arrives. Only the tail of a line that is not yet
 *   complete (a chunk cut mid-line by TCP) waits for the next chunk; every complete line goes out at once. A data line
 *   that is not JSON, or has no `model`, passes through byte for byte, as do comments, `event:` lines and blank lines.
 */
import { StringDecoder } from 'node:string_decoder';

/** The longest incomplete line held while waiting for its end (a Responses API event carries the whole text). */
const LONG_LINE = 4 * 1024 * 1024;

/** Sets the model ids of one answer object (in place); true when one changed. */
export function renameModelIn(o: Record<string, unknown>, model: string): boolean {
  let changed = false;
  if (typeof o.model === 'string' && o.model !== model) {
    o.model = model;
    changed = true;
  }
  // The Responses API's events carry the whole response (response.created, .in_progress, .completed...).
  const response = o.response;
  if (typeof response === 'object' && response !== null && !Array.isArray(response)) {
    const r = response as Record<string, unknown>;
    if (typeof r.model === 'string' && r.model !== model) {
      r.model = model;
      changed = true;
    }
  }
  return changed;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A whole JSON answer with the client's model id; the text unchanged when it is not JSON or names no model. */
export function renameModelInJson(text: string, model: string): string {
  if (!text.includes('"model"')) return text;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return text;
  }
  return isObject(o) && renameModelIn(o, model) ? JSON.stringify(o) : text;
}

/** One SSE line (without its line break) with the client's model id. */
export function renameModelInLine(line: string, model: string): string {
  // Cheap tests first: most lines of a long stream are token chunks, and all of them name the model.
  if (!line.startsWith('data:') || !line.includes('"model"')) return line;
  const payload = line.slice(line[5] === ' ' ? 6 : 5);
  if (payload[0] !== '{') return line;
  let o: unknown;
  try {
    o = JSON.parse(payload);
  } catch {
    return line;
  }
  return isObject(o) && renameModelIn(o, model) ? `data: ${JSON.stringify(o)}` : line;
}

/**
 * Rewrites a stream line by line: `push` takes each chunk as it comes and gives back what can be sent now (every
 * complete line, rewritten); `end` gives the incomplete last line, if the stream ended without a line break.
 * Bytes are decoded as UTF-8 across chunks (a character cut between two reads is joined first).
 */
export class SseModelRewriter {
  readonly #model: string;
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  /** Inside a line longer than LONG_LINE: it passes through untouched up to its line break (never held whole). */
  #passing = false;

  constructor(model: string) {
    this.#model = model;
  }

  push(chunk: Buffer): string {
    let text = this.#decoder.write(chunk);
    let head = '';
    if (this.#passing) {
      const nl = text.indexOf('\n');
      if (nl < 0) return text;
      head = text.slice(0, nl + 1);
      text = text.slice(nl + 1);
      this.#passing = false;
    }
    text = this.#partial + text;
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      if (text.length <= LONG_LINE) {
        this.#partial = text;
        return head;
      }
      // No line break for this long (a stream broken by "\r" alone, or one giant event): pass it on as it is.
      this.#partial = '';
      this.#passing = true;
      return head + text;
    }
    this.#partial = text.slice(cut + 1);
    const lines = text.slice(0, cut).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      // "\r\n" line breaks: the "\r" stays where it was.
      const cr = line.endsWith('\r');
      const rewritten = renameModelInLine(cr ? line.slice(0, -1) : line, this.#model);
      lines[i] = cr ? `${rewritten}\r` : rewritten;
    }
    return `${head}${lines.join('\n')}\n`;
  }

  /** What is left at the end of the stream (a last line without its line break), rewritten. */
  end(): string {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    return rest === '' || this.#passing ? rest : renameModelInLine(rest, this.#model);
  }
}
