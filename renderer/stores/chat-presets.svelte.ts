/** Saved presets (a system prompt and sampling a new chat starts from), from /api/presets. */
import { chatsApi, type Preset, type SamplingFields } from '../services/chats-api.ts';
import { describe } from '../services/errors.ts';

class PresetsStore {
  #list = $state<Preset[]>([]);
  #error = $state<string | null>(null);

  get list(): Preset[] {
    return this.#list;
  }
  get error(): string | null {
    return this.#error;
  }

  async refresh(): Promise<void> {
    try {
      this.#list = await chatsApi.presets();
      this.#error = null;
    } catch (error) {
      this.#error = describe(error);
    }
  }

  /** The saved preset, or null with the reason in `error` (a taken name, a bad value). */
  async save(name: string, systemPrompt: string, sampling: SamplingFields): Promise<Preset | null> {
    try {
      const preset = await chatsApi.createPreset({ name: name.trim(), systemPrompt: systemPrompt || null, sampling });
      await this.refresh();
      return preset;
    } catch (error) {
      this.#error = describe(error);
      return null;
    }
  }
}

export const presets = new PresetsStore();
