/**
 * The server's chat history (/api/conversations, /api/messages, /api/search, /api/presets) and token counts
 * (/api/tokenize): a stateless client, one function per route. The records are main/store/chat-types.ts's own (an
 * import-free types file); the request bodies (NewMessage, MessagePatch) are the subset of the server's schemas
 * (main/server/routes/chat-schemas.ts) the renderer sends.
 */

import type {
  Attachment,
  Conversation,
  SearchHit,
  Preset as StoredPreset,
  Thread,
  ThreadMessage,
} from '../../main/store/chat-types.ts';
import { apiCall } from './api-call.ts';
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

/** A conversation as the server sends it, with the sampling fields the renderer reads typed. */
export type ConversationRecord = Omit<Conversation, 'sampling'> & { sampling: SamplingFields };

/** An attachment as the renderer attaches and shows it (the server adds its id and message id). */
export type AttachmentRecord = Omit<Attachment, 'id' | 'messageId'>;

/** A message on the active thread, with its place among its siblings (the "2/3" switcher). */
export type MessageRecord = ThreadMessage;

export type ThreadRecord = Omit<Thread, 'conversation'> & { conversation: ConversationRecord };

export type { SearchHit } from '../../main/store/chat-types.ts';

/** A preset as the server sends it, with the sampling fields the renderer reads typed. */
export type Preset = Omit<StoredPreset, 'sampling'> & { sampling: SamplingFields };

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

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });
const conv = (id: string) => `/api/conversations/${encodeURIComponent(id)}`;

export const chatsApi = {
  list: async () =>
    (await apiCall<{ conversations: ConversationRecord[] }>('/api/conversations?limit=1000')).conversations,
  create: (fields: {
    title?: string;
    model?: string | null;
    systemPrompt?: string | null;
    sampling?: SamplingFields;
  }) => apiCall<ConversationRecord>('/api/conversations', json('POST', fields)),
  thread: (id: string) => apiCall<ThreadRecord>(conv(id)),
  rename: (id: string, title: string) => apiCall<ThreadRecord>(conv(id), json('PATCH', { title })),
  /** Shows the branch through `messageId` (its newest leaf): the new thread. */
  showBranch: (id: string, messageId: string) =>
    apiCall<ThreadRecord>(conv(id), json('PATCH', { activeLeafId: messageId })),
  remove: (id: string) => apiCall<{ deleted: string }>(conv(id), { method: 'DELETE' }),
  restore: (id: string) => apiCall<ConversationRecord>(`${conv(id)}/restore`, { method: 'POST' }),
  addMessage: (id: string, message: NewMessage) =>
    apiCall<MessageRecord>(`${conv(id)}/messages`, json('POST', message)),
  patchMessage: (id: string, patch: MessagePatch) =>
    apiCall<MessageRecord>(`/api/messages/${encodeURIComponent(id)}`, json('PATCH', patch)),
  search: async (q: string) =>
    (await apiCall<{ results: SearchHit[] }>(`/api/search?q=${encodeURIComponent(q)}&limit=50`)).results,

  /** The export file as the server names and writes it. */
  async exportFile(id: string, format: 'json' | 'markdown'): Promise<{ blob: Blob; fileName: string }> {
    const response = await fetch(`${conv(id)}/export?format=${format}`, { headers: authHeaders() });
    if (!response.ok) throw await errorFrom(response);
    const disposition = response.headers.get('content-disposition') ?? '';
    const fileName = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `chat.${format === 'json' ? 'json' : 'md'}`;
    return { blob: await response.blob(), fileName };
  },
  import: (file: unknown) => apiCall<ThreadRecord>('/api/conversations/import', json('POST', file)),

  presets: async () => (await apiCall<{ presets: Preset[] }>('/api/presets')).presets,
  createPreset: (preset: Pick<Preset, 'name' | 'systemPrompt' | 'sampling'>) =>
    apiCall<Preset>('/api/presets', json('POST', preset)),
  deletePreset: (id: string) =>
    apiCall<{ deleted: string }>(`/api/presets/${encodeURIComponent(id)}`, { method: 'DELETE' }),

  countText: (model: string, text: string) => apiCall<TokenCount>('/api/tokenize', json('POST', { model, text })),
  countMessages: (model: string, messages: ChatMessageIn[]) =>
    apiCall<TokenCount>('/api/tokenize', json('POST', { model, messages })),
};
