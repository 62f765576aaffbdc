/**
 * Where conversations live. For now in memory (lost on reload); the interface is the one a client of the server's
 * /api/conversations will implement, so the chat store will not change when history moves to SQLite.
 */
import type { PlasReport } from './types.ts';

export interface ReplyStats {
  /** ms from sending to the first streamed token */
  ttftMs: number | null;
  tokensPerSecond: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  plas: PlasReport | null;
}

export type MessageStatus = 'streaming' | 'done' | 'stopped' | 'error';

export interface StoredMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  reasoning: string;
  status: MessageStatus;
  error: string | null;
  stats: ReplyStats | null;
  model: string | null;
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  messages: StoredMessage[];
}

export interface ConversationRepository {
  list(): Promise<Omit<Conversation, 'messages'>[]>;
  get(id: string): Promise<Conversation | null>;
  create(title: string): Promise<Conversation>;
  /** Adds a message, or replaces the one with its id (a reply is saved when it starts and when it ends). */
  saveMessage(conversationId: string, message: StoredMessage): Promise<void>;
  remove(id: string): Promise<void>;
}

export class MemoryConversations implements ConversationRepository {
  private readonly byId = new Map<string, Conversation>();

  async list() {
    return [...this.byId.values()].map(({ messages: _, ...rest }) => rest).sort((a, b) => b.createdAt - a.createdAt);
  }
  async get(id: string) {
    const c = this.byId.get(id);
    return c ? structuredClone(c) : null;
  }
  async create(title: string) {
    const c: Conversation = { id: crypto.randomUUID(), title, createdAt: Date.now(), messages: [] };
    this.byId.set(c.id, c);
    return structuredClone(c);
  }
  async saveMessage(conversationId: string, message: StoredMessage) {
    const c = this.byId.get(conversationId);
    if (!c) throw new Error(`no conversation ${conversationId}`);
    const copy = structuredClone(message);
    const at = c.messages.findIndex((m) => m.id === message.id);
    if (at >= 0) c.messages[at] = copy;
    else c.messages.push(copy);
  }
  async remove(id: string) {
    this.byId.delete(id);
  }
}
