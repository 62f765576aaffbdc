/**
 * Server-sent events with backpressure. The reply is a PassThrough stream handed to fastify (so the app's onSend
 * hooks, e.g. CORS headers, still apply); each write waits for 'drain' when the socket is slow, so a slow reader
 * holds only its own request (the engine's per-request event queue is bounded and pauses it) and never grows memory
 * or slows the batch.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export class SseWriter {
  private readonly stream = new PassThrough();
  private closed = false;

  constructor(reply: FastifyReply) {
    reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(this.stream);
    this.stream.on('close', () => {
      this.closed = true;
    });
  }

  /** False once the client went away (writes are then dropped). */
  get open(): boolean {
    return !this.closed && !this.stream.destroyed;
  }

  /** One `data:` message (and `event:` line when named, as the Responses API streams). */
  async send(data: unknown, event?: string): Promise<void> {
    const head = event ? `event: ${event}\n` : '';
    await this.write(`${head}data: ${JSON.stringify(data)}\n\n`);
  }

  /** The end marker of chat and completions streams. */
  async done(): Promise<void> {
    await this.write('data: [DONE]\n\n');
  }

  end(): void {
    if (this.open) this.stream.end();
  }

  private async write(text: string): Promise<void> {
    if (!this.open) return;
    if (!this.stream.write(text)) {
      // Wait for the reader, or for the stream to go away (a disconnect while we wait); then drop the other
      // listener, so a long stream to a slow reader does not pile them up.
      const settle = new AbortController();
      const { signal } = settle;
      await Promise.race([once(this.stream, 'drain', { signal }), once(this.stream, 'close', { signal })]).catch(
        () => {},
      );
      settle.abort();
    }
  }
}
