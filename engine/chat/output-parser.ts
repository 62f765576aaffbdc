/**
 * Splits a model's output into content, reasoning and tool calls, as text streams in (OpenAI's delta shape) or all at
 * once. One state machine serves both: parseChatOutput feeds it the whole text, so streamed deltas joined equal the
 * one-shot parse by construction, provided no decision depends on where a piece ends; text that could still turn out
 * to be a marker (`<tool_c`, `</thi`) or the start of a bare JSON call is held back until it is known.
 *
 * Rules (see formats.ts for each family's markers):
 * - `<think>` is recognized only at the start of the output (or the output starts inside it, when the prompt ended
 *   with one); `</think>` ends the reasoning. Calls inside reasoning are reasoning.
 * - hermes: `<tool_call>` anywhere in the content, then JSON, then `</tool_call>` (a missing close at the very end
 *   is forgiven). llama3: a JSON call at the start of the content (or right after a call, "; " between them), or
 *   after `<|python_tag|>` anywhere. mistral: `[TOOL_CALLS]` then a JSON array of calls, or a bare `[{` array at the
 *   start of the content.
 * - A call is emitted whole, once its JSON is complete and valid: a call already streamed could not be taken back if
 *   its JSON then failed. Its first and only delta carries id, name and the arguments.
 * - A call whose JSON does not parse, or is not a call, stays in the content, word for word, and is listed in
 *   malformedToolCalls. Bare JSON with no "name" in it is an answer written in JSON: content, not flagged.
 * - Whitespace next to markers is dropped (the "\n" around a think block or a call block is layout), as is
 *   whitespace at the start and end of the output; whitespace between content before and after a call is kept.
 */

import type { ToolCallFormat } from '../serving/types.ts';
import {
  HERMES_CALL_CLOSE,
  HERMES_CALL_OPEN,
  LLAMA3_PYTHON_TAG,
  MISTRAL_TOOL_CALLS,
  THINK_CLOSE,
  THINK_OPEN,
} from './formats.ts';
import type { OutputDelta, OutputParserOptions, ParsedOutput } from './output-types.ts';
import { TextChannel } from './text-channel.ts';
import { newToolCallId } from './tool-call-ids.ts';
import { type CallText, JsonScanner, plausibleCallStart, readCallJson } from './tool-call-json.ts';

export type { OutputDelta, OutputParserOptions, ParsedOutput, ParsedToolCall, ToolCallDelta } from './output-types.ts';

type Mode =
  | { kind: 'content' }
  | { kind: 'reasoning' }
  /** After `[TOOL_CALLS]` or `<|python_tag|>`, before the JSON. `lead`: the whitespace dropped before the marker. */
  | { kind: 'marker'; lead: string; raw: string }
  /** Inside `<tool_call>`, until `</tool_call>`; `body`: the text after the opening tag so far. */
  | { kind: 'hermes'; lead: string; body: string; scanner: JsonScanner }
  /** A JSON call (llama3) or array of calls (mistral); `bare`: no marker before it. */
  | { kind: 'json'; lead: string; raw: string; text: string; scanner: JsonScanner; bare: boolean };

const WHITESPACE = ' \t\n\r';

export class ChatOutputParser {
  private readonly format?: ToolCallFormat;
  private readonly reasoningOn: boolean;
  private readonly newId: () => string;
  private mode: Mode;
  private buf = '';
  /** Nothing but whitespace has been seen: a `<think>` here opens the reasoning. */
  private atStart = true;
  /** A bare JSON call may come next: no content has been written since the start or since the last call. */
  private callMayFollow = true;
  private afterCall = false;
  private finished = false;
  private delta: OutputDelta = {};
  private readonly total: ParsedOutput = { content: '', reasoning: '', toolCalls: [], malformedToolCalls: [] };
  private readonly content = new TextChannel((text) => {
    this.callMayFollow = false;
    this.delta.content = (this.delta.content ?? '') + text;
    this.total.content += text;
  });
  private readonly reasoning = new TextChannel((text) => {
    this.delta.reasoning = (this.delta.reasoning ?? '') + text;
    this.total.reasoning += text;
  });

  constructor(options: OutputParserOptions = {}) {
    this.format = options.toolCalls;
    this.reasoningOn = options.reasoning ?? false;
    this.newId = options.newId ?? (() => newToolCallId(this.format));
    this.mode = { kind: options.startsInReasoning ? 'reasoning' : 'content' };
  }

  /** Parses `text`, the next piece of the output; returns what became known (empty when all is held back). */
  push(text: string): OutputDelta {
    if (this.finished) throw new Error('ChatOutputParser.push after finish()');
    this.buf += text;
    this.run(false);
    return this.takeDelta();
  }

  /** Ends the output: what was held back is decided (an unfinished call is malformed content). */
  finish(): OutputDelta {
    if (!this.finished) {
      this.finished = true;
      this.run(true);
    }
    return this.takeDelta();
  }

  /** Everything parsed so far (the whole parse after finish()). */
  result(): ParsedOutput {
    return {
      ...this.total,
      toolCalls: [...this.total.toolCalls],
      malformedToolCalls: [...this.total.malformedToolCalls],
    };
  }

  private takeDelta(): OutputDelta {
    const delta = this.delta;
    this.delta = {};
    return delta;
  }

  private run(final: boolean): void {
    while (this.step(final)) {}
  }

  /** One decision; false when nothing more can be decided without more text. */
  private step(final: boolean): boolean {
    // At the end, an open call or marker is decided even with no text left.
    const open = this.mode.kind !== 'content' && this.mode.kind !== 'reasoning';
    if (this.buf === '' && !(final && open)) return false;
    if (this.atStart) return this.start(final);
    switch (this.mode.kind) {
      case 'content':
        return this.stepContent(final);
      case 'reasoning':
        return this.stepReasoning(final);
      case 'marker':
        return this.stepMarker(this.mode, final);
      case 'hermes':
        return this.stepHermes(this.mode, final);
      case 'json':
        return this.stepJson(this.mode, final);
    }
  }

  private start(final: boolean): boolean {
    const i = firstNonSpace(this.buf);
    if (i < 0) {
      this.buf = ''; // leading whitespace of the output
      return false;
    }
    const rest = this.buf.slice(i);
    if (this.reasoningOn && rest.startsWith(THINK_OPEN)) {
      this.buf = rest.slice(THINK_OPEN.length);
      this.mode = { kind: 'reasoning' };
    } else if (this.reasoningOn && THINK_OPEN.startsWith(rest) && !final) {
      return false;
    } else {
      this.buf = rest;
    }
    this.atStart = false;
    return true;
  }

  private stepReasoning(final: boolean): boolean {
    const end = this.buf.indexOf(THINK_CLOSE);
    if (end >= 0) {
      this.reasoning.take(this.buf.slice(0, end));
      this.reasoning.dropPending();
      this.buf = this.buf.slice(end + THINK_CLOSE.length);
      this.mode = { kind: 'content' };
      return true;
    }
    this.emitHeldBack(this.reasoning, THINK_CLOSE, final);
    return false;
  }

  private stepContent(final: boolean): boolean {
    const format = this.format;
    if (this.afterCall && format === 'llama3') {
      // vLLM's llama3_json separates calls with ";".
      const i = firstNotIn(this.buf, `${WHITESPACE};`);
      this.buf = i < 0 ? '' : this.buf.slice(i);
      if (i < 0) return false;
    }
    this.afterCall = false;
    if ((format === 'llama3' || format === 'mistral') && this.callMayFollow) {
      const i = firstNonSpace(this.buf);
      if (i < 0) {
        this.content.take(this.buf);
        this.buf = '';
        return false;
      }
      const opener = format === 'llama3' ? '{' : '[';
      // Mistral's marker opens with "[" too: wait until the text is known not to be it.
      const rest = this.buf.slice(i);
      const maybeMarker = format === 'mistral' && MISTRAL_TOOL_CALLS.startsWith(rest);
      if (maybeMarker && !final) return false;
      if (this.buf[i] === opener && !maybeMarker && !rest.startsWith(MISTRAL_TOOL_CALLS)) {
        this.content.take(this.buf.slice(0, i));
        this.buf = this.buf.slice(i);
        this.mode = { kind: 'json', lead: '', raw: '', text: '', scanner: new JsonScanner(), bare: true };
        return true;
      }
    }
    if (format === undefined) {
      this.content.take(this.buf);
      this.buf = '';
      return false;
    }
    const marker =
      format === 'hermes' ? HERMES_CALL_OPEN : format === 'llama3' ? LLAMA3_PYTHON_TAG : MISTRAL_TOOL_CALLS;
    const at = this.buf.indexOf(marker);
    if (at < 0) {
      this.emitHeldBack(this.content, marker, final);
      return false;
    }
    this.content.take(this.buf.slice(0, at));
    const lead = this.content.dropPending();
    this.buf = this.buf.slice(at + marker.length);
    this.mode =
      format === 'hermes'
        ? { kind: 'hermes', lead, body: '', scanner: new JsonScanner() }
        : { kind: 'marker', lead, raw: marker };
    return true;
  }

  /** After `[TOOL_CALLS]` or `<|python_tag|>`: JSON follows, or the marker was text after all. */
  private stepMarker(mode: Extract<Mode, { kind: 'marker' }>, final: boolean): boolean {
    const i = firstNonSpace(this.buf);
    if (i < 0 && !final) return false;
    const opener = this.format === 'mistral' ? '[' : '{';
    if (i >= 0 && this.buf[i] === opener) {
      this.mode = {
        kind: 'json',
        lead: mode.lead,
        raw: mode.raw + this.buf.slice(0, i),
        text: '',
        scanner: new JsonScanner(),
        bare: false,
      };
      this.buf = this.buf.slice(i);
      return true;
    }
    this.markerWasText(mode);
    return true;
  }

  /**
   * A marker not followed by a call is content. Mistral's `[TOOL_CALLS]` can only mean a call, so it is flagged;
   * `<|python_tag|>` also opens Llama 3.1's built-in tools and code (`brave_search.call(...)`), which are text here.
   */
  private markerWasText(mode: { lead: string; raw: string }): void {
    if (this.format === 'mistral') this.flagMalformed(mode.raw);
    this.content.take(mode.lead + mode.raw);
    this.mode = { kind: 'content' };
  }

  private stepHermes(mode: Extract<Mode, { kind: 'hermes' }>, final: boolean): boolean {
    // The scanner resumes where it stopped; a close tag inside a JSON string does not end the block.
    mode.body += this.buf;
    this.buf = '';
    const end = mode.scanner.find(mode.body, HERMES_CALL_CLOSE);
    if (end < 0 && !final) return false;
    // A block cut off at the end is read as it is: a model may stop right after the JSON.
    const close = end < 0 ? mode.body.length : end + HERMES_CALL_CLOSE.length;
    this.buf = mode.body.slice(close);
    const block = HERMES_CALL_OPEN + mode.body.slice(0, close);
    const reading = readCallJson(mode.body.slice(0, end < 0 ? close : end).trim(), 'hermes');
    if (reading.kind === 'calls') this.emitCalls(reading.calls);
    else this.malformed(mode.lead, block);
    return true;
  }

  private stepJson(mode: Extract<Mode, { kind: 'json' }>, final: boolean): boolean {
    mode.text += this.buf;
    this.buf = '';
    const format = this.format!;
    const start = plausibleCallStart(mode.text, format === 'mistral' ? 'array' : 'object');
    if (start === 'no' || (start === 'unknown' && final)) {
      // Not a call after all: its first character is text, and the rest is read again as content.
      this.buf = mode.text;
      if (mode.bare) {
        this.content.take(this.buf[0]);
        this.buf = this.buf.slice(1);
        this.mode = { kind: 'content' };
      } else {
        this.markerWasText(mode);
      }
      return true;
    }
    const end = mode.scanner.valueEnd(mode.text);
    if (end < 0 && !final) return false;
    const json = end < 0 ? mode.text : mode.text.slice(0, end);
    this.buf = mode.text.slice(json.length);
    const reading = end < 0 ? { kind: 'malformed' as const } : readCallJson(json, format);
    if (reading.kind === 'calls') this.emitCalls(reading.calls);
    else if (reading.kind === 'not-a-call' && mode.bare) this.content.take(json);
    else this.malformed(mode.lead, mode.raw + json);
    if (reading.kind !== 'calls') this.mode = { kind: 'content' };
    return true;
  }

  private emitCalls(calls: CallText[]): void {
    this.delta.toolCalls ??= [];
    const deltas = this.delta.toolCalls;
    for (const call of calls) {
      const parsed = { id: this.newId(), name: call.name, arguments: call.arguments };
      deltas.push({ index: this.total.toolCalls.length, ...parsed });
      this.total.toolCalls.push(parsed);
    }
    this.mode = { kind: 'content' };
    this.afterCall = true;
    this.callMayFollow = true;
  }

  /** A call that did not parse: its text goes to the content as written, and is flagged. */
  private malformed(lead: string, text: string): void {
    this.flagMalformed(text);
    this.content.take(lead + text);
    this.mode = { kind: 'content' };
  }

  private flagMalformed(text: string): void {
    this.delta.malformedToolCalls ??= [];
    this.delta.malformedToolCalls.push(text);
    this.total.malformedToolCalls.push(text);
  }

  /** Writes the buffer to `channel`, but keeps back an end that may be the start of `marker`. */
  private emitHeldBack(channel: TextChannel, marker: string, final: boolean): void {
    const keep = final ? 0 : partialSuffix(this.buf, marker);
    channel.take(this.buf.slice(0, this.buf.length - keep));
    this.buf = this.buf.slice(this.buf.length - keep);
  }
}

/** The whole output parsed at once; equal to joining the deltas of a ChatOutputParser fed the same text. */
export function parseChatOutput(text: string, options: OutputParserOptions = {}): ParsedOutput {
  const parser = new ChatOutputParser(options);
  parser.push(text);
  parser.finish();
  return parser.result();
}

/** Length of the longest end of `text` that is a proper start of `marker`. */
function partialSuffix(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(marker.slice(0, n))) return n;
  }
  return 0;
}

function firstNonSpace(text: string): number {
  return firstNotIn(text, WHITESPACE);
}

function firstNotIn(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) if (!chars.includes(text[i])) return i;
  return -1;
}
