/**
 * The events of one generate() call, consumed as an AsyncIterable. Bounded: past `highWater` undelivered events the
 * producer is told to hold the request (`onFull`), and told to go on (`onDrained`) once the reader is back under
 * `lowWater`. So a slow reader makes its own request wait (its pages stay, the batch goes on without it) and memory
 * never grows with the reader's delay. A reader that stops iterating (break, return, throw) cancels (`onCancel`).
 */
export interface EventStreamHooks {
  onFull(): void;
  onDrained(): void;
  /** The consumer went away before the stream ended. */
  onCancel(): void;
}

export class EventStream<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private failure: Error | null = null;
  private full = false;
  private iterated = false;

  constructor(
    private readonly hooks: EventStreamHooks,
    private readonly highWater = 64,
    private readonly lowWater = 16,
  ) {}

  /** Events waiting for the reader. */
  get backlog(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    if (!this.full && this.items.length >= this.highWater) {
      this.full = true;
      this.hooks.onFull();
    }
    this.signal();
  }

  /** No more events: the reader gets what is queued, then the end. */
  close(): void {
    this.closed = true;
    this.signal();
  }

  /** End with an error: the reader gets what is queued, then the error. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.close();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error('the events of a request can be iterated once');
    this.iterated = true;
    return this.iterate();
  }

  private async *iterate(): AsyncGenerator<T> {
    let finished = false;
    try {
      while (true) {
        if (this.items.length > 0) {
          const item = this.items.shift()!;
          if (this.full && this.items.length <= this.lowWater) {
            this.full = false;
            this.hooks.onDrained();
          }
          yield item;
          continue;
        }
        if (this.closed) {
          finished = true;
          if (this.failure) throw this.failure;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      if (!finished) {
        this.closed = true;
        this.items.length = 0;
        this.hooks.onCancel();
      }
    }
  }
}
