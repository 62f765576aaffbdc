/**
 * The management API's server settings (/api/settings, token-guarded). The other routes have their page's client:
 * models-api.ts, tuning-api.ts, jobs-api.ts, chats-api.ts, discover-api.ts.
 */
import { errorFrom } from './errors.ts';
import { authHeaders } from './token.ts';
import type { ServerSettings } from './types.ts';

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { ...authHeaders(), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}

export const api = {
  settings: () => call<ServerSettings>('/api/settings'),
};
