/**
 * The server's models (GET /api/models), loads in progress (bytes from the load's SSE progress events), and the
 * changes the Models page makes: add a folder, remove it from the list, delete its files.
 */
import { describe } from '../services/errors.ts';
import { modelsApi } from '../services/models-api.ts';
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
  #busy = $state<Record<string, 'loading' | 'unloading' | 'removing'>>({});
  /** Bumped after every load or unload: the page's header re-reads the loaded model's gate. */
  #generation = $state(0);

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
  get generation(): number {
    return this.#generation;
  }
  progress(name: string): LoadProgress | undefined {
    return this.#progress[name];
  }
  busy(name: string): 'loading' | 'unloading' | 'removing' | undefined {
    return this.#busy[name];
  }
  dismissError(): void {
    this.#error = null;
  }

  async refresh(): Promise<void> {
    try {
      this.#models = await modelsApi.list();
      this.#error = null;
    } catch (error) {
      this.#error = describe(error);
    } finally {
      this.#fetched = true;
    }
  }

  /** Loads a model with its progress; resolves true when it loaded (the error is shown otherwise). */
  async load(name: string): Promise<boolean> {
    this.#busy[name] = 'loading';
    this.#progress[name] = { loaded: 0, total: 0 };
    let failure: string | null = null;
    try {
      await modelsApi.load(name, (loaded, total) => {
        this.#progress[name] = { loaded, total };
      });
    } catch (error) {
      failure = `Could not load ${name}: ${describe(error)}`;
    } finally {
      delete this.#busy[name];
      delete this.#progress[name];
      await this.refresh();
      this.#generation++; // after the list, so the page reads the gate of the model loaded now
      if (failure) this.#error = failure; // after refresh(), which clears the error when the list comes back
    }
    return failure === null;
  }

  async unload(name: string): Promise<boolean> {
    return this.#act(name, 'unloading', `Could not unload ${name}`, () => modelsApi.unload(name));
  }

  /** Registers a folder; resolves null when it was added, else the server's reason (shown by the add form). */
  async add(path: string, name?: string): Promise<string | null> {
    try {
      await modelsApi.add(path, name);
    } catch (error) {
      return describe(error);
    }
    await this.refresh();
    return null;
  }

  /** Removes a model from the list (its files stay). */
  async remove(name: string): Promise<boolean> {
    return this.#act(name, 'removing', `Could not remove ${name}`, () => modelsApi.remove(name));
  }

  /** Deletes the model's files; resolves null when deleted, else the server's reason (shown in the dialog). */
  async deleteFiles(name: string, confirm: string): Promise<string | null> {
    try {
      await modelsApi.deleteFiles(name, confirm);
    } catch (error) {
      await this.refresh();
      return describe(error);
    }
    await this.refresh();
    this.#generation++;
    return null;
  }

  async #act(name: string, state: 'unloading' | 'removing', what: string, run: () => Promise<unknown>) {
    this.#busy[name] = state;
    let failure: string | null = null;
    try {
      await run();
    } catch (error) {
      failure = `${what}: ${describe(error)}`;
    } finally {
      delete this.#busy[name];
      await this.refresh();
      this.#generation++;
      if (failure) this.#error = failure;
    }
    return failure === null;
  }
}

export const models = new ModelsStore();
