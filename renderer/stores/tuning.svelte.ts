/**
 * How replies are sampled (the Tuning page edits it, the chat store reads it). Kept in localStorage: a preference,
 * not history, so losing it costs nothing.
 */
export interface Sampling {
  systemPrompt: string;
  temperature: number;
  topP: number;
  maxTokens: number;
  /** vLLM's min_tokens: the reply runs at least this long (end-of-text is ignored until then). */
  minTokens: number;
}

const KEY = 'plas.sampling';
export const DEFAULT_SAMPLING: Sampling = {
  systemPrompt: '',
  temperature: 0.7,
  topP: 0.95,
  maxTokens: 512,
  minTokens: 0,
};

function saved(): Sampling {
  try {
    return { ...DEFAULT_SAMPLING, ...JSON.parse(localStorage.getItem(KEY) ?? '{}') };
  } catch {
    return { ...DEFAULT_SAMPLING };
  }
}

class TuningStore {
  #sampling = $state<Sampling>(saved());

  get sampling(): Sampling {
    return this.#sampling;
  }

  set(change: Partial<Sampling>): void {
    this.#sampling = { ...this.#sampling, ...change };
    localStorage.setItem(KEY, JSON.stringify(this.#sampling));
  }

  reset(): void {
    this.set(DEFAULT_SAMPLING);
  }
}

export const tuning = new TuningStore();
