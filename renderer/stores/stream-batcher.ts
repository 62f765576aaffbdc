/**
 * Collects streamed text and hands it over at most once per animation frame: a fast model sends hundreds of chunks a
 * second, and painting each one re-renders the reply's Markdown that often (the stutter users report in other UIs).
 */
export class StreamBatcher {
  #content = '';
  #reasoning = '';
  #frame: number | null = null;

  constructor(private readonly flushTo: (content: string, reasoning: string) => void) {}

  push(content: string, reasoning = ''): void {
    this.#content += content;
    this.#reasoning += reasoning;
    this.#frame ??= requestAnimationFrame(() => this.flush());
  }

  /** Hands over what is pending now (at the end of a stream, so nothing waits for a frame that may not come). */
  flush(): void {
    if (this.#frame !== null) cancelAnimationFrame(this.#frame);
    this.#frame = null;
    if (this.#content === '' && this.#reasoning === '') return;
    const content = this.#content;
    const reasoning = this.#reasoning;
    this.#content = '';
    this.#reasoning = '';
    this.flushTo(content, reasoning);
  }
}
