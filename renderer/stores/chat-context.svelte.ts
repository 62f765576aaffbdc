/**
 * The context meter: how many tokens the next request would take (system prompt + thread + attachments + draft,
 * rendered with the model's chat template by /api/tokenize) of the model's context. Counted a moment after the
 * user stops typing, and never while a reply streams (the count would be stale a frame later).
 */
import { chatsApi } from '../services/chats-api.ts';
import { describe } from '../services/errors.ts';
import type { ChatMessageIn } from '../services/types.ts';

const DEBOUNCE_MS = 300;
/** Warn when the prompt and the reply's token budget come this close to the context. */
export const WARN_AT = 0.85;

class ContextMeterStore {
  #used = $state<number | null>(null);
  #max = $state<number | null>(null);
  #error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | null = null;
  #asked = 0;

  get used(): number | null {
    return this.#used;
  }
  get max(): number | null {
    return this.#max;
  }
  get error(): string | null {
    return this.#error;
  }

  schedule(model: string | null, messages: ChatMessageIn[]): void {
    if (this.#timer) clearTimeout(this.#timer);
    const asked = ++this.#asked;
    if (model === null) return;
    this.#timer = setTimeout(async () => {
      try {
        const count = await chatsApi.countMessages(model, messages);
        if (asked !== this.#asked) return;
        this.#used = count.tokens;
        this.#max = count.maxContext;
        this.#error = null;
      } catch (error) {
        if (asked === this.#asked) this.#error = describe(error);
      }
    }, DEBOUNCE_MS);
  }
}

export const contextMeter = new ContextMeterStore();
