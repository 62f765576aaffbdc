/**
 * One stream of text (content or reasoning) whose whitespace at the edges is layout: whitespace before the first
 * character is dropped, and whitespace at the end is held until more text follows, so that whoever sees a marker
 * next (`</think>`, `<tool_call>`) can drop it. Text given in pieces comes out the same as given whole.
 */

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

export class TextChannel {
  /** Something other than whitespace has been written. */
  started = false;
  private pending = '';

  constructor(private readonly write: (text: string) => void) {}

  take(text: string): void {
    let end = text.length;
    while (end > 0 && isSpace(text[end - 1])) end--;
    if (end === 0) {
      if (this.started) this.pending += text;
      return;
    }
    let start = 0;
    if (!this.started) while (isSpace(text[start])) start++;
    const out = this.pending + text.slice(start, end);
    this.pending = text.slice(end);
    this.started = true;
    this.write(out);
  }

  /** Drops the whitespace held at the end (a marker follows it) and returns it. */
  dropPending(): string {
    const dropped = this.pending;
    this.pending = '';
    return dropped;
  }
}
