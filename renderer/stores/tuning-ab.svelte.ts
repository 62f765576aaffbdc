/**
 * The A/B: one prompt (typed, or an attached text file as the document plus a question) run dense, then with PLAS
 * (the engine's live settings), greedy and with the same max_tokens, so any difference in the outputs is PLAS's.
 * The two run one after the other, never together, so neither's speed is measured while the other shares the GPU.
 */
import { describe } from '../services/errors.ts';
import { firstDifference, type RunResult, runOnce } from '../services/tuning-api.ts';
import { recentRequests } from './tuning-requests.svelte.ts';

/** A document over this is refused before it is read (the model's context is far smaller anyway). */
export const MAX_DOCUMENT_BYTES = 2 * 2 ** 20;

export interface AttachedDocument {
  name: string;
  text: string;
}

class AbStore {
  prompt = $state('');
  maxTokens = $state(32);
  #document = $state<AttachedDocument | null>(null);
  #running = $state<'dense' | 'plas' | null>(null);
  #dense = $state<RunResult | null>(null);
  #plas = $state<RunResult | null>(null);
  #error = $state<string | null>(null);
  #controller: AbortController | null = null;

  get document(): AttachedDocument | null {
    return this.#document;
  }
  get running(): 'dense' | 'plas' | null {
    return this.#running;
  }
  get dense(): RunResult | null {
    return this.#dense;
  }
  get plas(): RunResult | null {
    return this.#plas;
  }
  get error(): string | null {
    return this.#error;
  }
  /** Where the outputs first differ (character index); null when identical or not both run. */
  get difference(): number | null {
    return this.#dense && this.#plas ? firstDifference(this.#dense.text, this.#plas.text) : null;
  }

  /** What is sent: the document, then the prompt as the question about it. */
  get fullPrompt(): string {
    const question = this.prompt.trim();
    return this.#document ? `${this.#document.text}\n\n${question}` : question;
  }

  async attach(file: File): Promise<void> {
    this.#error = null;
    if (file.size > MAX_DOCUMENT_BYTES) {
      this.#error = `${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MiB: attach a text file under 2 MiB.`;
      return;
    }
    const text = await file.text();
    if (text.includes('\u0000')) {
      this.#error = `${file.name} is not a text file (it holds binary data): attach .txt, .md or source code.`;
      return;
    }
    this.#document = { name: file.name, text };
  }

  detach(): void {
    this.#document = null;
  }

  async run(model: string): Promise<void> {
    this.#error = null;
    if (this.fullPrompt === '') {
      this.#error = 'Type a prompt (or attach a document and ask a question about it) before running the A/B.';
      return;
    }
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 1 || this.maxTokens > 4096) {
      this.#error = `Max tokens must be a whole number from 1 to 4096 (got ${this.maxTokens}).`;
      return;
    }
    this.#dense = null;
    this.#plas = null;
    this.#controller = new AbortController();
    const params = { model, prompt: this.fullPrompt, maxTokens: this.maxTokens };
    try {
      this.#running = 'dense';
      this.#dense = await runOnce({ ...params, backend: 'dense' }, this.#controller.signal);
      this.#running = 'plas';
      this.#plas = await runOnce({ ...params, backend: 'plas' }, this.#controller.signal);
    } catch (error) {
      this.#error =
        (error as Error).name === 'AbortError' ? 'The A/B was stopped.' : `The A/B failed: ${describe(error)}`;
    } finally {
      this.#running = null;
      this.#controller = null;
      void recentRequests.refresh();
    }
  }

  stop(): void {
    this.#controller?.abort();
  }
}

export const ab = new AbStore();
