/**
 * Saves a streamed reply while it arrives: text is gathered and sent as PATCH appends every `intervalMs` (well under
 * the one second a crash may cost), one request at a time and in order; finish() sends the rest with the figures and
 * marks the message complete. A failed save is kept to report, and never stops the stream on screen.
 */
import type { MessagePatch } from '../services/chats-api.ts';

export class ReplySaver {
  #content = '';
  #reasoning = '';
  #chain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | null;
  error: unknown = null;

  constructor(
    private readonly messageId: string,
    private readonly patch: (id: string, patch: MessagePatch) => Promise<unknown>,
    intervalMs = 500,
  ) {
    this.#timer = setInterval(() => this.#send({}), intervalMs);
  }

  push(content: string, reasoning = ''): void {
    this.#content += content;
    this.#reasoning += reasoning;
  }

  /** Sends what is left, the metadata and complete: true; resolves once every save has been answered. */
  async finish(metadata: Record<string, unknown>): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#send({ metadata, complete: true });
    await this.#chain;
  }

  #send(extra: MessagePatch): void {
    const body: MessagePatch = { ...extra };
    if (this.#content) body.append = this.#content;
    if (this.#reasoning) body.appendReasoning = this.#reasoning;
    this.#content = '';
    this.#reasoning = '';
    if (Object.keys(body).length === 0) return;
    this.#chain = this.#chain.then(() =>
      this.patch(this.messageId, body).then(
        () => {},
        (error) => {
          this.error = error;
        },
      ),
    );
  }
}
