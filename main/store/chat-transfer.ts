/**
 * Export and import of one conversation. JSON holds the whole tree (every branch) and imports back; Markdown holds the
 * active thread, for reading. An import is checked in full before anything is written, gets fresh ids (so importing a
 * file twice, or into the database it came from, never collides), and is written in one transaction.
 */
import { randomUUID } from 'node:crypto';
import { ChatStoreError, type Conversation, type MessageMetadata, type Role, type Sampling } from './chat-types.ts';
import type { ChatsRepository } from './chats-repo.ts';
import type { Db } from './database.ts';

export const EXPORT_FORMAT = 'plas-studio.conversation';
export const EXPORT_VERSION = 1;

export interface ExportedAttachment {
  name: string;
  mime: string;
  content: string;
  tokens: number | null;
}

export interface ExportedMessage {
  id: string;
  /** null for a root; otherwise the id of a message listed before this one. */
  parentId: string | null;
  role: Role;
  content: string;
  reasoning: string | null;
  metadata: MessageMetadata;
  createdAt: number;
  complete: boolean;
  attachments: ExportedAttachment[];
}

export interface ConversationExport {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: number;
  conversation: {
    id: string;
    title: string;
    model: string | null;
    systemPrompt: string | null;
    sampling: Sampling;
    createdAt: number;
    updatedAt: number;
    activeLeafId: string | null;
  };
  /** Parents before children; siblings oldest first (the order the switcher shows). */
  messages: ExportedMessage[];
}

const ROLES: ReadonlySet<string> = new Set(['user', 'assistant', 'system', 'tool']);

const invalid = (field: string, message: string) => new ChatStoreError('invalid', field, `${field}: ${message}`);

export class ChatTransfer {
  constructor(
    private readonly db: Db,
    private readonly chats: ChatsRepository,
    private readonly now: () => number = Date.now,
  ) {}

  exportJson(id: string): ConversationExport {
    const c = this.chats.require(id);
    return {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exportedAt: this.now(),
      conversation: {
        id: c.id,
        title: c.title,
        model: c.model,
        systemPrompt: c.systemPrompt,
        sampling: c.sampling,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
        activeLeafId: c.activeLeafId,
      },
      messages: this.chats.allMessages(id).map((m) => ({
        id: m.id,
        parentId: m.parentId,
        role: m.role,
        content: m.content,
        reasoning: m.reasoning,
        metadata: m.metadata,
        createdAt: m.createdAt,
        complete: m.complete,
        attachments: m.attachments.map((a) => ({ name: a.name, mime: a.mime, content: a.content, tokens: a.tokens })),
      })),
    };
  }

  /** The active thread as Markdown: a heading per turn, reasoning folded away, attachments named. */
  exportMarkdown(id: string): string {
    const { conversation: c, messages } = this.chats.thread(id);
    const lines = [`# ${oneLine(c.title)}`, ''];
    if (c.model) lines.push(`- Model: ${oneLine(c.model)}`);
    lines.push(`- Created: ${new Date(c.createdAt).toISOString()}`, '');
    if (c.systemPrompt) lines.push('## System', '', c.systemPrompt, '');
    for (const m of messages) {
      lines.push(`## ${m.role[0].toUpperCase()}${m.role.slice(1)}`, '');
      if (m.reasoning) lines.push('<details><summary>Reasoning</summary>', '', m.reasoning, '', '</details>', '');
      if (m.content) lines.push(m.content, '');
      for (const a of m.attachments) lines.push(`- Attachment: ${oneLine(a.name)} (${oneLine(a.mime)})`);
      if (m.attachments.length > 0) lines.push('');
    }
    return `${lines.join('\n').trimEnd()}\n`;
  }

  /**
   * Imports a file made by exportJson (its JSON shape already checked by the caller's schema): checks what a schema
   * cannot (unique ids, parents listed before their children, the active leaf among the messages), then writes it
   * all with new ids, or nothing. Returns the new conversation.
   */
  importJson(file: ConversationExport): Conversation {
    if (file.format !== EXPORT_FORMAT) throw invalid('format', `must be ${JSON.stringify(EXPORT_FORMAT)}`);
    if (file.version !== EXPORT_VERSION) {
      throw invalid('version', `${file.version} is not supported (this version reads ${EXPORT_VERSION})`);
    }
    const newIds = new Map<string, string>();
    file.messages.forEach((m, i) => {
      if (newIds.has(m.id)) throw invalid(`messages[${i}].id`, `${JSON.stringify(m.id)} appears twice`);
      if (!ROLES.has(m.role)) throw invalid(`messages[${i}].role`, `${JSON.stringify(m.role)} is not a role`);
      if (m.parentId !== null && !newIds.has(m.parentId)) {
        throw invalid(`messages[${i}].parentId`, `${JSON.stringify(m.parentId)} is not a message listed before it`);
      }
      newIds.set(m.id, randomUUID());
    });
    const leaf = file.conversation.activeLeafId;
    if (leaf !== null && !newIds.has(leaf)) {
      throw invalid('conversation.activeLeafId', `${JSON.stringify(leaf)} is not one of the messages`);
    }
    const c = file.conversation;
    return this.db.transaction(() => {
      const id = randomUUID();
      this.db
        .prepare(
          `INSERT INTO conversations (id, title, model, system_prompt, sampling, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, c.title, c.model, c.systemPrompt, JSON.stringify(c.sampling), c.createdAt, this.now());
      const message = this.db.prepare(
        `INSERT INTO messages (id, conversation_id, parent_id, role, content, reasoning, metadata, created_at, complete)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const attachment = this.db.prepare(
        'INSERT INTO attachments (id, message_id, name, mime, content, tokens) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const m of file.messages) {
        const mid = newIds.get(m.id) as string;
        const parent = m.parentId === null ? null : (newIds.get(m.parentId) as string);
        message.run(
          mid,
          id,
          parent,
          m.role,
          m.content,
          m.reasoning,
          JSON.stringify(m.metadata),
          m.createdAt,
          m.complete ? 1 : 0,
        );
        for (const a of m.attachments) attachment.run(randomUUID(), mid, a.name, a.mime, a.content, a.tokens);
      }
      // A file without an active leaf (or an empty one) shows the newest branch.
      const last = file.messages.at(-1);
      const shown = leaf ?? last?.id;
      if (shown !== undefined) this.chats.setActiveLeaf(id, newIds.get(shown) as string);
      return this.chats.require(id);
    })();
  }
}

/** Headings and list items are one line: a newline in a title would start a new Markdown block. */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}
