/**
 * Turns generated token ids into text one id at a time, emitting only text that is complete.
 *
 * A character can span several tokens (a byte-level BPE token may hold half of an emoji's UTF-8 bytes; Llama 2 style
 * byte-fallback tokens hold one byte each), and decoding a token alone can lose its leading space (SentencePiece
 * decoders strip the first one). So, as in HF text-generation-inference and vLLM's detokenize_incrementally, we
 * decode a window that starts a little before the new ids: with `prefix` = the window up to the ids not yet
 * emitted, the new text is decode(window) minus decode(prefix), and it is emitted only once it does not end in
 * U+FFFD (the decoder's stand-in for an incomplete UTF-8 sequence). Then the window moves on to start at the ids
 * just emitted. Pushing every id and then flush() gives exactly tokenizer.decode(all ids).
 */

import type { Tokenizer } from './tokenizer.ts';

const REPLACEMENT = '\uFFFD';

/**
 * Ids held back waiting for a character to complete. A UTF-8 character is at most 4 bytes and every non-special
 * token holds at least one, so past this many the trailing U+FFFD is a genuinely invalid byte run (a model
 * generating garbage), not a character still arriving: emit it rather than stall and re-decode an ever-growing
 * window.
 */
const MAX_PENDING = 16;

export class StreamDecoder {
  /** The window: ids from the start of the last emitted run on. */
  private ids: number[] = [];
  /** How many ids of the window have been emitted; the window's text up to there is `prefixText`. */
  private readOffset = 0;
  private prefixText = '';
  private readonly skipSpecialTokens: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    options?: { skipSpecialTokens?: boolean },
  ) {
    this.skipSpecialTokens = options?.skipSpecialTokens ?? false;
  }

  /** Adds one id; returns the text that is now complete (often "", never a partial character). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.decode(this.ids);
    const pending = this.ids.length - this.readOffset;
    if (text.length <= this.prefixText.length) return '';
    if (text.endsWith(REPLACEMENT) && pending <= MAX_PENDING) return '';
    const out = text.slice(this.prefixText.length);
    // The new window starts at the ids just emitted: enough context for their spaces and bytes.
    this.ids = this.ids.slice(this.readOffset);
    this.readOffset = this.ids.length;
    this.prefixText = this.decode(this.ids);
    return out;
  }

  /** Ends the stream: returns what was held back (an incomplete character shows as U+FFFD, as decode() would). */
  flush(): string {
    const text = this.decode(this.ids);
    const out = text.length > this.prefixText.length ? text.slice(this.prefixText.length) : '';
    this.ids = [];
    this.readOffset = 0;
    this.prefixText = '';
    return out;
  }

  private decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skipSpecialTokens: this.skipSpecialTokens });
  }
}
