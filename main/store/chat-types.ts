/**
 * The chat store's records as the repositories hand them out (camelCase, timestamps in ms since the epoch), and the
 * errors a caller branches on. The /api routes send these records as they are. This file imports nothing: the renderer
 * imports its types too (`import type`), so the two sides cannot drift apart.
 */

export type Role = 'user' | 'assistant' | 'system' | 'tool';

/** Sampling as the /v1 request names it (temperature, top_p, ..., plas), stored whole so the renderer can resend it. */
export type Sampling = Record<string, unknown>;

/** What the renderer learnt while a message streamed. Every field is optional; unknown keys are kept. */
export interface MessageMetadata {
  tokens?: number;
  ttftMs?: number;
  tokensPerSecond?: number;
  /** Fraction of KV pages PLAS attended to (0..1). */
  plasDensity?: number;
  finishReason?: string;
  model?: string;
  [key: string]: unknown;
}

export interface Conversation {
  id: string;
  title: string;
  model: string | null;
  systemPrompt: string | null;
  sampling: Sampling;
  createdAt: number;
  updatedAt: number;
  /** Set while the conversation is in the trash (restorable until purged). */
  deletedAt: number | null;
  /** The last message of the branch shown; null for an empty conversation. */
  activeLeafId: string | null;
}

export interface Attachment {
  id: string;
  messageId: string;
  name: string;
  mime: string;
  /** The text that goes into the prompt (files are read to text before they are attached). */
  content: string;
  tokens: number | null;
}

export type NewAttachment = Omit<Attachment, 'id' | 'messageId' | 'tokens'> & { tokens?: number | null };

export interface Message {
  id: string;
  conversationId: string;
  parentId: string | null;
  role: Role;
  content: string;
  reasoning: string | null;
  metadata: MessageMetadata;
  createdAt: number;
  /** false while it streams. */
  complete: boolean;
  attachments: Attachment[];
}

/** A message on the active thread, with where it sits among its siblings (the "2/3" switcher). */
export interface ThreadMessage extends Message {
  /** 0-based position among the messages with the same parent, oldest first. */
  siblingIndex: number;
  siblingCount: number;
  /** All siblings' ids in that order (this one included), so the switcher can jump to any. */
  siblingIds: string[];
}

export interface Thread {
  conversation: Conversation;
  /** Root first, the active leaf last. */
  messages: ThreadMessage[];
}

/** One search result (chat-search.ts): a message, or a conversation whose title matched. */
export interface SearchHit {
  conversationId: string;
  title: string;
  /** null when the hit is in the conversation's title. */
  messageId: string | null;
  /** HTML: escaped text with the matched terms in <mark>…</mark>. */
  snippet: string;
}

/** A named system prompt and sampling the user can start a conversation from (presets-repo.ts). */
export interface Preset {
  id: string;
  name: string;
  systemPrompt: string | null;
  sampling: Sampling;
  createdAt: number;
  updatedAt: number;
}

/** A request the store cannot carry out because of what it asked; `field` names the part to fix. */
export class ChatStoreError extends Error {
  override name = 'ChatStoreError';
  constructor(
    readonly kind: 'not_found' | 'invalid' | 'conflict',
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}
