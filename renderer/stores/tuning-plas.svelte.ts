/**
 * The loaded model's live PLAS settings as the engine runs them. A slider's move is a wish: it is sent as PATCH
 * /api/plas (debounced while dragging, merged with other wishes made meanwhile) and what the page shows is the
 * engine's answer. A refused wish shows the server's message and the slider snaps back to the engine's value.
 */
import { ApiError, describe } from '../services/errors.ts';
import { type PlasChange, type PlasState, tuningApi } from '../services/tuning-api.ts';

/** Quiet time after the last move of a slider before its value is sent. */
const DEBOUNCE_MS = 250;

class PlasTuningStore {
  #state = $state<PlasState | null>(null);
  /** Why the settings cannot be shown (a failure other than "no model loaded"). */
  #error = $state<string | null>(null);
  #notLoaded = $state<string | null>(null);
  /** The server's message for the last refused change (cleared by the next accepted one). */
  #refused = $state<string | null>(null);
  #pending = $state<PlasChange>({});
  /** The change in flight (one at a time). */
  #sent = $state<PlasChange | null>(null);
  /** Grows with every answer: sliders re-read the engine's value from it (also when a refusal changed nothing). */
  #version = $state(0);
  #timer: ReturnType<typeof setTimeout> | null = null;

  get state(): PlasState | null {
    return this.#state;
  }
  get error(): string | null {
    return this.#error;
  }
  /** Set (with the reason) when the server has no model loaded (409). */
  get notLoaded(): string | null {
    return this.#notLoaded;
  }
  get refused(): string | null {
    return this.#refused;
  }
  /** What the user asked for a field and the engine has not answered yet (waiting or in flight). */
  wish<K extends keyof PlasChange>(key: K): PlasChange[K] | undefined {
    return this.#pending[key] ?? this.#sent?.[key];
  }
  get busy(): boolean {
    return this.#sent !== null || Object.keys(this.#pending).length > 0;
  }
  get version(): number {
    return this.#version;
  }

  async refresh(): Promise<void> {
    try {
      this.#take(await tuningApi.plas());
    } catch (error) {
      this.#fail(error);
    }
  }

  /** A wish: sent after DEBOUNCE_MS of quiet, or at once when `now` (a slider released, a box ticked). */
  change(change: PlasChange, now = false): void {
    this.#pending = { ...this.#pending, ...change };
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#flush(), now ? 0 : DEBOUNCE_MS);
  }

  async reset(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#pending = {};
    try {
      this.#take(await tuningApi.resetPlas());
      this.#refused = null;
    } catch (error) {
      this.#fail(error);
    }
  }

  async #flush(): Promise<void> {
    this.#timer = null;
    if (this.#sent !== null || Object.keys(this.#pending).length === 0) return;
    const change = this.#pending;
    this.#pending = {};
    this.#sent = change;
    try {
      this.#take(await tuningApi.patchPlas(change));
      this.#refused = null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        this.#refused = error.message;
        this.#version++; // snap the sliders back to the engine's values
      } else this.#fail(error);
    } finally {
      this.#sent = null;
      // Wishes made while this one was in flight go next.
      if (Object.keys(this.#pending).length > 0 && !this.#timer) void this.#flush();
    }
  }

  #take(state: PlasState): void {
    this.#state = state;
    this.#error = null;
    this.#notLoaded = null;
    this.#version++;
  }

  #fail(error: unknown): void {
    if (error instanceof ApiError && error.status === 409) {
      this.#state = null;
      this.#notLoaded = error.message;
    } else this.#error = describe(error);
    this.#version++;
  }
}

export const plasTuning = new PlasTuningStore();
