/**
 * A provider's health: GET <api root>/models with its key, within timeouts.healthMs in all. Reachable and a list of
 * models: 'ok' with the latency to its answer; anything else: 'down' with a sentence naming the provider and why
 * (refused, timeout, 401, redirect, not an OpenAI model list). Ollama, llama-server and LM Studio serve /v1/models too.
 */

import { ProviderFailure, providerHttpError, redact } from './provider-errors.ts';
import { apiRoot } from './provider-input.ts';
import type { ProviderStatus, ProviderTimeouts } from './provider-types.ts';
import { openUpstream, readBody } from './upstream.ts';

export interface HealthResult {
  status: ProviderStatus;
  /** null when the check failed (the last known list is then kept). */
  models: string[] | null;
}

const MAX_MODELS = 2000;

export async function checkHealth(
  provider: { name: string; baseUrl: string },
  key: string | null,
  timeouts: ProviderTimeouts,
  now: () => number = Date.now,
): Promise<HealthResult> {
  const started = performance.now();
  const ms = timeouts.healthMs;
  const down = (error: string): HealthResult => ({
    status: { state: 'down', latencyMs: null, checkedAt: now(), error: redact(error, key) },
    models: null,
  });
  try {
    const url = new URL(`${apiRoot(provider.baseUrl)}/models`);
    const res = await openUpstream({
      provider: provider.name,
      url,
      method: 'GET',
      headers: { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      timeouts: { connectMs: Math.min(timeouts.connectMs, ms), firstByteMs: ms },
    });
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const body = (await readBody(res, provider.name, ms, 8 * 1024 * 1024)).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status !== 200) return down(providerHttpError(provider.name, status, body, key).message);
    let ids: string[];
    try {
      const data = (JSON.parse(body) as { data?: unknown }).data;
      if (!Array.isArray(data)) throw new Error('no data array');
      ids = data
        .map((m) => (m as { id?: unknown })?.id)
        .filter((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= 256);
    } catch {
      return down(`Provider "${provider.name}": ${url.pathname} is not an OpenAI model list (is the base URL right?)`);
    }
    return {
      status: { state: 'ok', latencyMs, checkedAt: now(), error: null },
      models: [...new Set(ids)].slice(0, MAX_MODELS),
    };
  } catch (error) {
    if (error instanceof ProviderFailure) return down(error.message);
    return down(`Provider "${provider.name}": ${(error as Error).message}`);
  }
}
