/**
 * The models found on this computer (GET /api/models/discover) and adding one in place: Add registers its path
 * under the suggested name, then the registered list and this list are read again.
 */
import { type DiscoveredModel, discoverApi } from '../services/discover-api.ts';
import { describe } from '../services/errors.ts';
import { modelsApi } from '../services/models-api.ts';
import { models } from './models.svelte.ts';

class DiscoverStore {
  #found = $state<DiscoveredModel[]>([]);
  #folders = $state<string[]>([]);
  #fetched = $state(false);
  #scanning = $state(false);
  #error = $state<string | null>(null);
  /** Paths being added now, and the reason an Add was refused, by path. */
  #adding = $state<Record<string, boolean>>({});
  #refused = $state<Record<string, string>>({});

  get found(): DiscoveredModel[] {
    return this.#found;
  }
  /** The ones that can be added first; within each group, as found (by source). */
  get sorted(): DiscoveredModel[] {
    return [...this.#found.filter((m) => m.runnable), ...this.#found.filter((m) => !m.runnable)];
  }
  get folders(): string[] {
    return this.#folders;
  }
  get fetched(): boolean {
    return this.#fetched;
  }
  get scanning(): boolean {
    return this.#scanning;
  }
  get error(): string | null {
    return this.#error;
  }
  adding(path: string): boolean {
    return this.#adding[path] === true;
  }
  refused(path: string): string | undefined {
    return this.#refused[path];
  }

  async refresh(): Promise<void> {
    this.#scanning = true;
    try {
      const answer = await discoverApi.list();
      this.#found = answer.models;
      this.#folders = answer.roots.folders;
      this.#error = null;
    } catch (error) {
      this.#error = `Could not look for models: ${describe(error)}`;
    } finally {
      this.#scanning = false;
      this.#fetched = true;
    }
  }

  /** Registers a found model where it is; resolves true when added. */
  async add(m: DiscoveredModel): Promise<boolean> {
    this.#adding[m.path] = true;
    delete this.#refused[m.path];
    try {
      await modelsApi.add(m.path, m.suggestedName);
    } catch (error) {
      this.#refused[m.path] = describe(error);
      return false;
    } finally {
      delete this.#adding[m.path];
    }
    await Promise.all([models.refresh(), this.refresh()]);
    return true;
  }

  /** Adds a folder to search; resolves null when added, else the server's reason. */
  async addFolder(path: string): Promise<string | null> {
    try {
      await discoverApi.addFolder(path);
    } catch (error) {
      return describe(error);
    }
    await this.refresh();
    return null;
  }

  async removeFolder(path: string): Promise<void> {
    try {
      await discoverApi.removeFolder(path);
    } catch (error) {
      this.#error = `Could not stop searching ${path}: ${describe(error)}`;
      return;
    }
    await this.refresh();
  }
}

export const discover = new DiscoverStore();
