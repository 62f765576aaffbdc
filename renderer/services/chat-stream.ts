/**
 * Streamed chat completions from /v1/chat/completions (OpenAI's chunk format): fetch + SSE, so it can POST, send the
 * token and be stopped with an AbortSignal. Calls back per delta; the caller batches what it paints.
 */
import { errorFrom, errorFromBody } from './errors.ts';
import { readSse } from './sse.ts';
import { authHeaders } from './token.ts';
import type { ChatMessageIn, PlasReport, ProviderKind, Usage } from './types.ts';

/** The model and messages, and the conversation's sampling as /v1 names it (temperature, top_p, max_tokens, ...). */
export interface ChatParams {
  model: string;
  messages: ChatMessageIn[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  min_tokens?: number;
  [sampling: string]: unknown;
}

export interface StreamHandlers {
  onContent(text: string): void;
  onReasoning(text: string): void;
  onUsage(usage: Usage): void;
  onPlas(plas: PlasReport): void;
  onFinish(reason: string): void;
}

interface Chunk {
  choices?: { delta?: { content?: string | null; reasoning_content?: string | null }; finish_reason?: string | null }[];
  usage?: Usage | null;
  plas?: PlasReport;
  error?: { message?: string; code?: string | null };
}

/** Resolves when the stream ends ([DONE]); rejects with an ApiError, or an AbortError when `signal` aborts. */
export async function streamChat(params: ChatParams, handlers: StreamHandlers, signal: AbortSignal): Promise<void> {
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify({ ...params, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!response.ok || !response.body) throw await errorFrom(response);
  for await (const message of readSse(response.body, signal)) {
    if (message.data === '[DONE]') return;
    const chunk = JSON.parse(message.data) as Chunk;
    // An error after the 200 header arrives as a chunk of its own.
    if (chunk.error) throw errorFromBody(chunk.error);
    for (const choice of chunk.choices ?? []) {
      if (choice.delta?.reasoning_content) handlers.onReasoning(choice.delta.reasoning_content);
      if (choice.delta?.content) handlers.onContent(choice.delta.content);
      if (choice.finish_reason) handlers.onFinish(choice.finish_reason);
    }
    if (chunk.usage) handlers.onUsage(chunk.usage);
    if (chunk.plas) handlers.onPlas(chunk.plas);
  }
  signal.throwIfAborted();
}

/**
 * A model the chat can use, from GET /v1/models: a local one (provider null), or a remote provider's as "NAME/MODEL"
 * (its provider down: listed, not available, with the reason).
 */
export interface ListedModel {
  id: string;
  /** Local models only: loaded now (a provider's are always false: it loads them itself). */
  loaded: boolean;
  provider: string | null;
  /** The provider's kind (vllm, fastdeploy, ...); null for a local model. */
  providerKind: ProviderKind | null;
  available: boolean;
  unavailableReason: string | null;
}

interface ListedEntry {
  id: string;
  loaded?: boolean;
  provider?: string | null;
  provider_kind?: ProviderKind | null;
  available?: boolean;
  unavailable_reason?: string | null;
}

export async function listChatModels(): Promise<ListedModel[]> {
  const response = await fetch('/v1/models', { headers: authHeaders() });
  if (!response.ok) throw await errorFrom(response);
  return ((await response.json()) as { data: ListedEntry[] }).data.map((m) => ({
    id: m.id,
    loaded: m.loaded === true,
    provider: m.provider ?? null,
    providerKind: m.provider_kind ?? null,
    available: m.available !== false,
    unavailableReason: m.unavailable_reason ?? null,
  }));
}

/** The picker's groups: local models first, then each provider's, in the order the server lists them. */
export function groupByProvider(models: readonly ListedModel[]): { provider: string | null; models: ListedModel[] }[] {
  const groups = new Map<string | null, ListedModel[]>([[null, []]]);
  for (const m of models) {
    const group = groups.get(m.provider);
    if (group) group.push(m);
    else groups.set(m.provider, [m]);
  }
  return [...groups].filter(([, list]) => list.length > 0).map(([provider, list]) => ({ provider, models: list }));
}
