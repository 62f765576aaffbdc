/**
 * Which page is shown, from the URL path (/chat, /models, /tuning, /server): the server answers every such path with
 * the app (SPA fallback), so a reload or a bookmark lands on the same page.
 */
export const PAGES = [
  { id: 'chat', label: 'Chat' },
  { id: 'models', label: 'Models' },
  { id: 'tuning', label: 'Tuning' },
  { id: 'server', label: 'Server' },
] as const;
export type PageId = (typeof PAGES)[number]['id'];

function fromPath(path: string): PageId {
  const id = path.replace(/^\/+/, '').split('/')[0];
  return PAGES.some((p) => p.id === id) ? (id as PageId) : 'chat';
}

class Router {
  #page = $state<PageId>(fromPath(location.pathname));

  constructor() {
    addEventListener('popstate', () => {
      this.#page = fromPath(location.pathname);
    });
  }

  get page(): PageId {
    return this.#page;
  }

  go(page: PageId): void {
    if (page === this.#page) return;
    history.pushState(null, '', `/${page}`);
    this.#page = page;
  }
}

export const router = new Router();
