/**
 * The management token. The desktop window (and `plas serve`'s printed link) opens `/?token=...`: the token is kept
 * in sessionStorage (gone when the tab closes) and removed from the address bar at once, so it does not land in the
 * history, in bookmarks or in a screenshot of the URL.
 */
const KEY = 'plas.token';

export function takeTokenFromUrl(): void {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  sessionStorage.setItem(KEY, token);
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

export function token(): string | null {
  return sessionStorage.getItem(KEY);
}

export function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}
