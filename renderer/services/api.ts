/**
 * The management API's server settings (/api/settings, token-guarded). The other routes have their page's client:
 * models-api.ts, tuning-api.ts, jobs-api.ts, chats-api.ts, discover-api.ts.
 */
import { apiCall } from './api-call.ts';
import type { ServerSettings } from './types.ts';

export const api = {
  settings: () => apiCall<ServerSettings>('/api/settings'),
};
