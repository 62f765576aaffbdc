/** One JSON call to the server's /api (or /v1) with the session's token; throws an ApiError naming why it refused. */
import { errorFrom } from './errors.ts';
import { authHeaders } from './token.ts';

export async function apiCall<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { ...authHeaders(), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}
