/**
 * Conversations and their message trees. Branching: a regenerated answer is a sibling of the assistant message (same
 * parent), an edited prompt a sibling of the user message; the conversation's active leaf picks the branch shown, and
 * the thread is the path from the root to it. Every write is one transaction, so a crash leaves each call done or
 * undone. A conversation in the trash (soft-deleted) is invisible to everything but restore and purge.
 */
import { randomUUID } from 'node:crypto';
import {
  type Attachment,
  ChatStoreError,
  type Conversation,
  type Message,
  type NewAttachment,
  type Role,
  type Sampling,
  type Thread,
  type ThreadMessage,
} from './chat-types.ts';
import type { Db } from './database.ts';

export interface NewConversation {
  title?: string;
  model?: string | null;
  systemPrompt?: string | null;
  sampling?: Sampling;
}

export type ConversationPatch = Partial<Pick<Conversation, 'title' | 'model' | 'systemPrompt' | 'sampling'>>;

export interface NewMessage {
  /** null: a root (a conversation may have several, when its first prompt was edited). */
  parentId: string | null;
  role: Role;
  content?: string;
  reasoning?: string | null;
  /** MessageMetadata; null values are left out (as in a later merge). */
  metadata?: Record<string, unknown>;
  /** false for a message that is about to stream (default true). */
  complete?: boolean;
  attachments?: NewAttachment[];
}

export interface MessageUpdate {
  /** Text to add at the end of the content (only while the message is incomplete). */
  append?: string;
  appendReasoning?: string;
  /** Merged into the stored metadata (RFC 7396: a null value removes the key). */
  metadata?: Record<string, unknown>;
  complete?: boolean;
}

export const DEFAULT_TITLE = 'New chat';

interface ConversationRow {
  id: string;
  title: string;
  model: string | null;
  system_prompt: string | null;
  sampling: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  active_leaf_id: string | null;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  role: Role;
  content: string;
  reasoning: string | null;
  metadata: string;
  created_at: number;
  complete: number;
}

interface AttachmentRow {
  id: string;
  message_id: string;
  name: string;
  mime: string;
  content: string;
  tokens: number | null;
}

const conversationFrom = (r: ConversationRow): Conversation => ({
  id: r.id,
  title: r.title,
  model: r.model,
  systemPrompt: r.system_prompt,
  sampling: JSON.parse(r.sampling),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deletedAt: r.deleted_at,
  activeLeafId: r.active_leaf_id,
});

const attachmentFrom = (r: AttachmentRow): Attachment => ({
  id: r.id,
  messageId: r.message_id,
  name: r.name,
  mime: r.mime,
  content: r.content,
  tokens: r.tokens,
});

const messageFrom = (r: MessageRow, attachments: Attachment[]): Message => ({
  id: r.id,
  conversationId: r.conversation_id,
  parentId: r.parent_id,
  role: r.role,
  content: r.content,
  reasoning: r.reasoning,
  metadata: JSON.parse(r.metadata),
  createdAt: r.created_at,
  complete: r.complete === 1,
  attachments,
});

const notFound = (what: string, id: string, field = 'id') =>
  new ChatStoreError('not_found', field, `no ${what} with id ${JSON.stringify(id)}`);

export class ChatsRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  create(input: NewConversation = {}): Conversation {
    const id = randomUUID();
    const t = this.now();
    this.db
      .prepare(
        `INSERT INTO conversations (id, title, model, system_prompt, sampling, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        input.title ?? DEFAULT_TITLE,
        input.model ?? null,
        input.systemPrompt ?? null,
        JSON.stringify(input.sampling ?? {}),
        t,
        t,
      );
    return this.require(id);
  }

  /** undefined when missing or in the trash (unless includeDeleted). */
  get(id: string, { includeDeleted = false } = {}): Conversation | undefined {
    const row = this.db.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as ConversationRow | undefined;
    if (!row || (row.deleted_at !== null && !includeDeleted)) return undefined;
    return conversationFrom(row);
  }

  /** Newest activity first, trash excluded. */
  list({ limit = 200, offset = 0 } = {}): Conversation[] {
    const rows = this.db
      .prepare(
        'SELECT * FROM conversations WHERE deleted_at IS NULL ORDER BY updated_at DESC, seq DESC LIMIT ? OFFSET ?',
      )
      .all(limit, offset) as ConversationRow[];
    return rows.map(conversationFrom);
  }

  update(id: string, patch: ConversationPatch): Conversation {
    return this.db.transaction(() => {
      const c = this.require(id);
      this.db
        .prepare(
          'UPDATE conversations SET title = ?, model = ?, system_prompt = ?, sampling = ?, updated_at = ? WHERE id = ?',
        )
        .run(
          patch.title ?? c.title,
          patch.model === undefined ? c.model : patch.model,
          patch.systemPrompt === undefined ? c.systemPrompt : patch.systemPrompt,
          JSON.stringify(patch.sampling ?? c.sampling),
          this.now(),
          id,
        );
      return this.require(id);
    })();
  }

  /**
   * Shows the branch through `messageId`: when it has replies, the newest leaf below it becomes the active leaf (a
   * switcher picks a sibling, and expects to land on the end of that branch).
   */
  setActiveLeaf(id: string, messageId: string): Conversation {
    return this.db.transaction(() => {
      this.require(id);
      const m = this.messageRow(messageId);
      if (!m || m.conversation_id !== id) throw notFound('message in this conversation', messageId, 'activeLeafId');
      const leaf = this.db
        .prepare(
          `WITH RECURSIVE sub(id, seq) AS (
             SELECT id, seq FROM messages WHERE id = ?
             UNION ALL SELECT m.id, m.seq FROM messages m JOIN sub ON m.parent_id = sub.id)
           SELECT id FROM sub WHERE NOT EXISTS (SELECT 1 FROM messages c WHERE c.parent_id = sub.id)
           ORDER BY seq DESC LIMIT 1`,
        )
        .pluck()
        .get(messageId) as string;
      this.db.prepare('UPDATE conversations SET active_leaf_id = ? WHERE id = ?').run(leaf, id);
      return this.require(id);
    })();
  }

  /** Moves it to the trash; false when there is no such conversation (or it is there already). */
  softDelete(id: string): boolean {
    const sql = 'UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL';
    return this.db.transaction(() => this.db.prepare(sql).run(this.now(), id).changes > 0)();
  }

  restore(id: string): Conversation {
    return this.db.transaction(() => {
      const c = this.get(id, { includeDeleted: true });
      if (!c) throw notFound('conversation', id);
      this.db.prepare('UPDATE conversations SET deleted_at = NULL WHERE id = ?').run(id);
      return this.require(id);
    })();
  }

  /** Deletes for good (trash or not), with its messages and attachments. */
  purge(id: string): boolean {
    return this.db.transaction(() => this.db.prepare('DELETE FROM conversations WHERE id = ?').run(id).changes > 0)();
  }

  /** Empties the trash of what was deleted before `before` (default: everything in it); returns how many. */
  purgeDeleted(before = Number.MAX_SAFE_INTEGER): number {
    const sql = 'DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at < ?';
    return this.db.transaction(() => this.db.prepare(sql).run(before).changes)();
  }

  /** Adds a message under `parentId` and makes it the active leaf (the new message is what the user looks at). */
  addMessage(conversationId: string, input: NewMessage): ThreadMessage {
    return this.db.transaction(() => {
      this.require(conversationId);
      if (input.parentId !== null) {
        const parent = this.messageRow(input.parentId);
        if (!parent || parent.conversation_id !== conversationId) {
          throw notFound('message in this conversation', input.parentId, 'parentId');
        }
      }
      const id = randomUUID();
      const t = this.now();
      this.db
        .prepare(
          `INSERT INTO messages (id, conversation_id, parent_id, role, content, reasoning, metadata, created_at, complete)
           VALUES (?, ?, ?, ?, ?, ?, json_patch('{}', ?), ?, ?)`,
        )
        .run(
          id,
          conversationId,
          input.parentId,
          input.role,
          input.content ?? '',
          input.reasoning ?? null,
          JSON.stringify(input.metadata ?? {}),
          t,
          input.complete === false ? 0 : 1,
        );
      const attach = this.db.prepare(
        'INSERT INTO attachments (id, message_id, name, mime, content, tokens) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const a of input.attachments ?? [])
        attach.run(randomUUID(), id, a.name, a.mime, a.content, a.tokens ?? null);
      this.db
        .prepare('UPDATE conversations SET active_leaf_id = ?, updated_at = ? WHERE id = ?')
        .run(id, t, conversationId);
      const added = this.threadOf(conversationId, id).at(-1);
      if (!added) throw new Error(`message ${id} vanished inside its own transaction`);
      return added;
    })();
  }

  getMessage(id: string): Message | undefined {
    const row = this.messageRow(id);
    if (!row || !this.get(row.conversation_id)) return undefined;
    return messageFrom(row, this.attachmentsOf([id]).get(id) ?? []);
  }

  /**
   * Streams into a message: appends text, merges metadata, marks it complete. Appending to a complete message is a
   * conflict (a second writer, or a retry after `complete`), never a silent duplicate.
   */
  updateMessage(id: string, update: MessageUpdate): Message {
    return this.db.transaction(() => {
      const row = this.messageRow(id);
      if (!row || !this.get(row.conversation_id)) throw notFound('message', id);
      const appending = update.append !== undefined || update.appendReasoning !== undefined;
      if (appending && row.complete === 1) {
        throw new ChatStoreError('conflict', 'append', `message ${id} is complete: nothing can be appended to it`);
      }
      if (update.complete === false && row.complete === 1) {
        throw new ChatStoreError('conflict', 'complete', `message ${id} is complete and cannot be reopened`);
      }
      // Only touch `content` when there is text: the search index re-indexes the message on every content update.
      if (update.append)
        this.db.prepare('UPDATE messages SET content = content || ? WHERE id = ?').run(update.append, id);
      if (update.appendReasoning) {
        this.db
          .prepare("UPDATE messages SET reasoning = coalesce(reasoning, '') || ? WHERE id = ?")
          .run(update.appendReasoning, id);
      }
      if (update.metadata) {
        this.db
          .prepare('UPDATE messages SET metadata = json_patch(metadata, ?) WHERE id = ?')
          .run(JSON.stringify(update.metadata), id);
      }
      if (update.complete) this.db.prepare('UPDATE messages SET complete = 1 WHERE id = ?').run(id);
      this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(this.now(), row.conversation_id);
      const after = this.getMessage(id);
      if (!after) throw new Error(`message ${id} vanished inside its own transaction`);
      return after;
    })();
  }

  /** The conversation with the path from its root to the active leaf. */
  thread(id: string): Thread {
    const conversation = this.require(id);
    const messages = conversation.activeLeafId ? this.threadOf(id, conversation.activeLeafId) : [];
    return { conversation, messages };
  }

  /** Every message of the conversation (the whole tree), parents before children, siblings oldest first. */
  allMessages(id: string): Message[] {
    this.require(id);
    const rows = this.db
      .prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq')
      .all(id) as MessageRow[];
    const attachments = this.attachmentsOf(rows.map((r) => r.id));
    return rows.map((r) => messageFrom(r, attachments.get(r.id) ?? []));
  }

  /** The conversation, or a not-found error naming it. */
  require(id: string): Conversation {
    const c = this.get(id);
    if (!c) throw notFound('conversation', id);
    return c;
  }

  private messageRow(id: string): MessageRow | undefined {
    return this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
  }

  /** Root to `leafId`, each message with its siblings (same parent; the roots are siblings of each other). */
  private threadOf(conversationId: string, leafId: string): ThreadMessage[] {
    const rows = this.db
      .prepare(
        `WITH RECURSIVE path(id, parent_id, depth) AS (
           SELECT id, parent_id, 0 FROM messages WHERE id = ?
           UNION ALL SELECT m.id, m.parent_id, p.depth + 1 FROM messages m JOIN path p ON m.id = p.parent_id),
         ranked AS (
           SELECT m.*, row_number() OVER w - 1 AS sibling_index, count(*) OVER w AS sibling_count,
                  json_group_array(m.id) OVER w AS sibling_ids
           FROM messages m WHERE m.conversation_id = ?
           WINDOW w AS (PARTITION BY m.parent_id ORDER BY m.seq ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
         SELECT r.* FROM path JOIN ranked r ON r.id = path.id ORDER BY path.depth DESC`,
      )
      .all(leafId, conversationId) as (MessageRow & {
      sibling_index: number;
      sibling_count: number;
      sibling_ids: string;
    })[];
    const attachments = this.attachmentsOf(rows.map((r) => r.id));
    return rows.map((r) => ({
      ...messageFrom(r, attachments.get(r.id) ?? []),
      siblingIndex: r.sibling_index,
      siblingCount: r.sibling_count,
      siblingIds: JSON.parse(r.sibling_ids),
    }));
  }

  private attachmentsOf(messageIds: string[]): Map<string, Attachment[]> {
    const out = new Map<string, Attachment[]>();
    if (messageIds.length === 0) return out;
    const rows = this.db
      .prepare('SELECT * FROM attachments WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY seq')
      .all(JSON.stringify(messageIds)) as AttachmentRow[];
    for (const r of rows) {
      const list = out.get(r.message_id) ?? [];
      list.push(attachmentFrom(r));
      out.set(r.message_id, list);
    }
    return out;
  }
}
