/**
 * The server's chat history (/api/conversations, /api/messages, /api/search, /api/presets) and token counts
 * (/api/tokenize): a stateless client, one function per route, the shapes as main/store/chat-types.ts sends them.
 */
import { errorFrom } from './errors.ts';
import { authHeaders } from './token.ts';
import type { ChatMessageIn } from './types.ts';

/** Sampling as /v1 names it (temperature, top_p, max_tokens, min_tokens, ...), stored on a conversation or preset. */
export type SamplingFields = Record<string, unknown> & {
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  min_tokens?: number;
};

export interface ConversationRecord {
  id: string;
  title: string;
  model: string | null;
  systemPrompt: string | null;
  sampling: SamplingFields;
  createdAt: number;
  updatedAt: number;
  activeLeafId: string | null;
}

export interface AttachmentRecord {
  name: string;
  mime: string;
  content: string;
  tokens: number | null;
}

export interface MessageRecord {
  id: string;
  conversationId: string;
  parentId: string | null;
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
  reasoning: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
  complete: boolean;
  attachments: AttachmentRecord[];
  /** Where it sits among the messages with the same parent (the "2/3" switcher); on thread messages only. */
  siblingIndex: number;
  siblingCount: number;
  siblingIds: string[];
}

export interface ThreadRecord {
  conversation: ConversationRecord;
  /** The active branch, root first. */
  messages: MessageRecord[];
}

export interface SearchHit {
  conversationId: string;
  title: string;
  /** null when the title matched. */
  messageId: string | null;
  /** Escaped HTML whose only tags are <mark>. */
  snippet: string;
}

export interface Preset {
  id: string;
  name: string;
  systemPrompt: string | null;
  sampling: SamplingFields;
}

export interface NewMessage {
  parentId: string | null;
  role: 'user' | 'assistant';
  content?: string;
  metadata?: Record<string, unknown>;
  complete?: boolean;
  attachments?: AttachmentRecord[];
}

export interface MessagePatch {
  append?: string;
  appendReasoning?: string;
  metadata?: Record<string, unknown>;
  complete?: boolean;
}

export interface TokenCount {
  tokens: number;
  maxContext: number;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { ...authHeaders(), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });
const conv = (id: string) => `/api/conversations/${encodeURIComponent(id)}`;

export const chatsApi = {
  list: async () =>
    (await call<{ conversations: ConversationRecord[] }>('/api/conversations?limit=1000')).conversations,
  create: (fields: {
    title?: string;
    model?: string | null;
    systemPrompt?: string | null;
    sampling?: SamplingFields;
  }) => call<ConversationRecord>('/api/conversations', json('POST', fields)),
  thread: (id: string) => call<ThreadRecord>(conv(id)),
  rename: (id: string, title: string) => call<ThreadRecord>(conv(id), json('PATCH', { title })),
  /** Shows the branch through `messageId` (its newest leaf): the new thread. */
  showBranch: (id: string, messageId: string) =>
    call<ThreadRecord>(conv(id), json('PATCH', { activeLeafId: messageId })),
  remove: (id: string) => call<{ deleted: string }>(conv(id), { method: 'DELETE' }),
  restore: (id: string) => call<ConversationRecord>(`${conv(id)}/restore`, { method: 'POST' }),
  addMessage: (id: string, message: NewMessage) => call<MessageRecord>(`${conv(id)}/messages`, json('POST', message)),
  patchMessage: (id: string, patch: MessagePatch) =>
    call<MessageRecord>(`/api/messages/${encodeURIComponent(id)}`, json('PATCH', patch)),
  search: async (q: string) =>
    (await call<{ results: SearchHit[] }>(`/api/search?q=${encodeURIComponent(q)}&limit=50`)).results,

  /** The export file as the server names and writes it. */
  async exportFile(id: string, format: 'json' | 'markdown'): Promise<{ blob: Blob; fileName: string }> {
    const response = await fetch(`${conv(id)}/export?format=${format}`, { headers: authHeaders() });
    if (!response.ok) throw await errorFrom(response);
    const disposition = response.headers.get('content-disposition') ?? '';
    const fileName = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `chat.${format === 'json' ? 'json' : 'md'}`;
    return { blob: await response.blob(), fileName };
  },
  import: (file: unknown) => call<ThreadRecord>('/api/conversations/import', json('POST', file)),

  presets: async () => (await call<{ presets: Preset[] }>('/api/presets')).presets,
  createPreset: (preset: Omit<Preset, 'id'>) => call<Preset>('/api/presets', json('POST', preset)),
  deletePreset: (id: string) =>
    call<{ deleted: string }>(`/api/presets/${encodeURIComponent(id)}`, { method: 'DELETE' }),

  countText: (model: string, text: string) => call<TokenCount>('/api/tokenize', json('POST', { model, text })),
  countMessages: (model: string, messages: ChatMessageIn[]) =>
    call<TokenCount>('/api/tokenize', json('POST', { model, messages })),
};
