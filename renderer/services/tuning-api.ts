/**
 * What the Tuning page asks the server: the live PLAS config (GET/PATCH /api/plas, POST /api/plas/reset), the recent
 * requests with what each attended (GET /api/requests), and one A/B run of a prompt through /v1/chat/completions
 * (streamed, so time to first token is measured where the user sees it). Stateless: the stores keep the state.
 */

import type {
  AttentionBackendName as Backend,
  PlasChange,
  PlasState,
} from '../../main/server/routes/api-plas-types.ts';
import type { LoggedRequest } from '../../main/server/server-types.ts';
import { apiCall } from './api-call.ts';
import { errorFrom, errorFromBody } from './errors.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';

// The /api/plas and /api/requests shapes are the server's own (import-free types files), so the two cannot drift.
export type {
  AttentionBackendName as Backend,
  PlasChange,
  PlasNumberKey,
  PlasSettings,
  PlasState,
} from '../../main/server/routes/api-plas-types.ts';
export type { LoggedRequest } from '../../main/server/server-types.ts';

export const tuningApi = {
  plas: () => apiCall<PlasState>('/api/plas'),
  patchPlas: (change: PlasChange) => apiCall<PlasState>('/api/plas', { method: 'PATCH', body: JSON.stringify(change) }),
  resetPlas: () => apiCall<PlasState>('/api/plas/reset', { method: 'POST' }),
  requests: async (limit = 40) =>
    (await apiCall<{ requests: LoggedRequest[] }>(`/api/requests?limit=${limit}`)).requests,
};

/** What one side of the A/B measured. */
export interface RunResult {
  backend: Backend;
  text: string;
  /** From sending the request to the first streamed text. */
  ttftMs: number | null;
  /** Output tokens after the first, per second from the first to the end of the stream. */
  tokensPerSecond: number | null;
  promptTokens: number;
  /**
   * Prompt tokens taken from the engine's prefix cache, not computed (an earlier run of the same prompt left them):
   * TTFT and prefill density then cover only the rest. The cache does not tell dense from PLAS pages.
   */
  cachedTokens: number;
  completionTokens: number;
  prefillDensity: number | null;
  decodeDensity: number | null;
  /** false when no decode step of the reply was among the engine's sampled steps (its decode density is unknown). */
  decodeSampled: boolean;
  finishReason: string | null;
}

export interface RunParams {
  model: string;
  prompt: string;
  maxTokens: number;
  backend: Backend;
}

interface Chunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number };
  } | null;
  plas?: { prefill_density: number; decode_density: number; decode_layer_density?: (number | null)[] };
  error?: { message?: string; code?: string | null };
}

/**
 * One greedy run (temperature 0) of `prompt`, dense or PLAS through the `plas` extension, streamed. The two sides of
 * an A/B differ only in `backend`: same prompt, same max_tokens.
 */
export async function runOnce(p: RunParams, signal?: AbortSignal): Promise<RunResult> {
  const started = performance.now();
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify({
      model: p.model,
      messages: [{ role: 'user', content: p.prompt }],
      temperature: 0,
      max_tokens: p.maxTokens,
      stream: true,
      stream_options: { include_usage: true },
      plas: { backend: p.backend },
    }),
    signal,
  });
  if (!response.ok || !response.body) throw await errorFrom(response);
  const out: RunResult = {
    backend: p.backend,
    text: '',
    ttftMs: null,
    tokensPerSecond: null,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    prefillDensity: null,
    decodeDensity: null,
    decodeSampled: false,
    finishReason: null,
  };
  let first = 0;
  for await (const message of readSse(response.body, signal)) {
    if (message.data === '[DONE]') break;
    const chunk = JSON.parse(message.data) as Chunk;
    if (chunk.error) throw errorFromBody(chunk.error);
    for (const choice of chunk.choices ?? []) {
      const text = choice.delta?.content;
      if (text) {
        if (out.ttftMs === null) {
          first = performance.now();
          out.ttftMs = first - started;
        }
        out.text += text;
      }
      if (choice.finish_reason) out.finishReason = choice.finish_reason;
    }
    if (chunk.usage) {
      out.promptTokens = chunk.usage.prompt_tokens;
      out.completionTokens = chunk.usage.completion_tokens;
      out.cachedTokens = chunk.usage.prompt_tokens_details?.cached_tokens ?? 0;
    }
    if (chunk.plas) {
      out.prefillDensity = chunk.plas.prefill_density;
      out.decodeDensity = chunk.plas.decode_density;
      out.decodeSampled = chunk.plas.decode_layer_density?.some((d) => d !== null) ?? true;
    }
  }
  // As the Chat page counts (stores/reply-stats.ts): the tokens after the first, over the time after the first.
  const ended = performance.now();
  if (out.ttftMs !== null && out.completionTokens > 1 && ended > first) {
    out.tokensPerSecond = ((out.completionTokens - 1) * 1000) / (ended - first);
  }
  return out;
}

/** Where two outputs first differ: null when identical; else the character index (one may be a prefix of the other). */
export function firstDifference(a: string, b: string): number | null {
  if (a === b) return null;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
