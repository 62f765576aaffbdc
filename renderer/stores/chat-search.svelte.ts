/**
 * The search dialog (Ctrl/Cmd+K): the query, results from /api/search while typing (the newest answer wins), and
 * the highlighted row for the arrow keys.
 */
import { chatsApi, type SearchHit } from '../services/chats-api.ts';
import { describe } from '../services/errors.ts';

const DEBOUNCE_MS = 150;

class SearchStore {
  open = $state(false);
  #query = $state('');
  #results = $state<SearchHit[]>([]);
  #searched = $state('');
  #error = $state<string | null>(null);
  selected = $state(0);
  #timer: ReturnType<typeof setTimeout> | null = null;
  #asked = 0;

  get query(): string {
    return this.#query;
  }
  get results(): SearchHit[] {
    return this.#results;
  }
  /** The query the results are for ('' before the first answer). */
  get searched(): string {
    return this.#searched;
  }
  get error(): string | null {
    return this.#error;
  }

  set query(q: string) {
    this.#query = q;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#run(q), DEBOUNCE_MS);
  }

  async #run(q: string): Promise<void> {
    const asked = ++this.#asked;
    if (q.trim() === '') {
      this.#results = [];
      this.#searched = '';
      return;
    }
    try {
      const results = await chatsApi.search(q);
      if (asked !== this.#asked) return; // a newer query is under way
      this.#results = results;
      this.#searched = q;
      this.#error = null;
      this.selected = 0;
    } catch (error) {
      if (asked === this.#asked) this.#error = describe(error);
    }
  }
}

export const search = new SearchStore();
