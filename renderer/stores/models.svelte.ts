/**
 * The server's models (GET /api/models) and loads in progress (bytes from the load's SSE progress events).
 */
import { api } from '../services/api.ts';
import { describe } from '../services/errors.ts';
import type { ModelSummary } from '../services/types.ts';

export interface LoadProgress {
  loaded: number;
  total: number;
}

class ModelsStore {
  #models = $state<ModelSummary[]>([]);
  #fetched = $state(false);
  #error = $state<string | null>(null);
  #progress = $state<Record<string, LoadProgress>>({});
  #busy = $state<Record<string, 'loading' | 'unloading'>>({});

  get models(): ModelSummary[] {
    return this.#models;
  }
  /** false until the first answer: the pages show "loading" rather than an empty list. */
  get fetched(): boolean {
    return this.#fetched;
  }
  get error(): string | null {
    return this.#error;
  }
  get loaded(): ModelSummary | undefined {
    return this.#models.find((m) => m.loaded);
  }
  progress(name: string): LoadProgress | undefined {
    return this.#progress[name];
  }
  busy(name: string): 'loading' | 'unloading' | undefined {
    return this.#busy[name];
  }

  async refresh(): Promise<void> {
    try {
      this.#models = await api.models();
      this.#error = null;
    } catch (error) {
      this.#error = describe(error);
    } finally {
      this.#fetched = true;
    }
  }

  async load(name: string): Promise<void> {
    this.#busy[name] = 'loading';
    this.#progress[name] = { loaded: 0, total: 0 };
    let failure: string | null = null;
    try {
      await api.load(name, (loaded, total) => {
        this.#progress[name] = { loaded, total };
      });
    } catch (error) {
      failure = `Could not load ${name}: ${describe(error)}`;
    } finally {
      delete this.#busy[name];
      delete this.#progress[name];
      await this.refresh();
      if (failure) this.#error = failure; // after refresh(), which clears the error when the list comes back
    }
  }

  async unload(name: string): Promise<void> {
    this.#busy[name] = 'unloading';
    let failure: string | null = null;
    try {
      await api.unload(name);
    } catch (error) {
      failure = `Could not unload ${name}: ${describe(error)}`;
    } finally {
      delete this.#busy[name];
      await this.refresh();
      if (failure) this.#error = failure;
    }
  }
}

export const models = new ModelsStore();
