/**
 * What the Models page shows besides the list: the GPU adapter (GET /api/health), the loaded model's gate
 * (GET /api/plas) and each model's GPU memory estimate at the context the user picks (one control for the page).
 */
import { describe } from '../services/errors.ts';
import { type GateView, type MemoryEstimate, modelsApi } from '../services/models-api.ts';
import type { Health } from '../services/types.ts';

export const DEFAULT_ESTIMATE_CONTEXT = 4096;

class ModelsOverviewStore {
  #adapter = $state<Health['adapter'] | null>(null);
  #gate = $state<GateView | null>(null);
  #context = $state(DEFAULT_ESTIMATE_CONTEXT);
  #estimates = $state<Record<string, MemoryEstimate | string>>({});
  #asked = 0;

  get adapter(): Health['adapter'] | null {
    return this.#adapter;
  }
  get gate(): GateView | null {
    return this.#gate;
  }
  get context(): number {
    return this.#context;
  }
  /** The estimate for a model at the page's context (capped at its own), a reason it failed, or undefined while asked. */
  estimate(name: string): MemoryEstimate | string | undefined {
    return this.#estimates[name];
  }

  async refreshAdapter(): Promise<void> {
    try {
      this.#adapter = (await modelsApi.health()).adapter;
    } catch {
      this.#adapter = null; // the list's own error says the server is unreachable
    }
  }

  /** Re-reads the gate of the loaded model (none loaded: null). */
  async refreshGate(loaded: string | undefined): Promise<void> {
    if (!loaded) {
      this.#gate = null;
      return;
    }
    try {
      this.#gate = await modelsApi.gate();
    } catch {
      this.#gate = null;
    }
  }

  setContext(context: number): void {
    if (Number.isInteger(context) && context >= 1) this.#context = context;
  }

  /** Estimates every model at the page's context (each capped at its own context length); the latest ask wins. */
  async refreshEstimates(list: { name: string; contextLength: number }[]): Promise<void> {
    const ask = ++this.#asked;
    const context = this.#context;
    const results = await Promise.all(
      list.map(async (m) => {
        try {
          return [m.name, await modelsApi.estimate(m.name, Math.min(context, m.contextLength))] as const;
        } catch (error) {
          return [m.name, describe(error)] as const;
        }
      }),
    );
    if (ask === this.#asked) this.#estimates = Object.fromEntries(results);
  }
}

export const overview = new ModelsOverviewStore();
