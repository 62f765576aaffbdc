/**
 * Messages as the Chat page shows them, and the mapping from and to what the server stores (chats-api.ts): the
 * figures under a reply travel in its metadata, so a reply reloaded from history shows them too; attachments are
 * written into the prompt as long context.
 */
import type { AttachmentRecord, MessageRecord } from './chats-api.ts';
import type { ChatMessageIn, PlasReport } from './types.ts';

export interface ReplyStats {
  /** ms from sending to the first streamed token */
  ttftMs: number | null;
  tokensPerSecond: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  plas: PlasReport | null;
  /** Earlier turns left out of the request so that it fit the model's context (null: none). */
  leftOut: number | null;
}

/** `interrupted`: saved while streaming and never completed (the app or the server stopped mid-reply). */
export type MessageStatus = 'streaming' | 'done' | 'stopped' | 'error' | 'interrupted';

export interface ChatMessage {
  id: string;
  parentId: string | null;
  role: 'user' | 'assistant';
  content: string;
  reasoning: string;
  status: MessageStatus;
  error: string | null;
  stats: ReplyStats | null;
  model: string | null;
  attachments: AttachmentRecord[];
  siblingIndex: number;
  siblingCount: number;
  siblingIds: string[];
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export function statsFromMetadata(m: Record<string, unknown>): ReplyStats | null {
  const stats: ReplyStats = {
    ttftMs: num(m.ttftMs),
    tokensPerSecond: num(m.tokensPerSecond),
    promptTokens: num(m.promptTokens),
    completionTokens: num(m.completionTokens ?? m.tokens),
    plas: (m.plas as PlasReport | undefined) ?? null,
    leftOut: num(m.leftOutMessages),
  };
  return Object.values(stats).every((v) => v === null) ? null : stats;
}

/** The metadata a finished reply is saved with (the schema's known fields, plus our own). */
export function metadataFrom(stats: ReplyStats, status: MessageStatus, error: string | null, model: string | null) {
  const m: Record<string, unknown> = { status };
  if (stats.ttftMs !== null) m.ttftMs = Math.max(0, stats.ttftMs);
  if (stats.tokensPerSecond !== null) m.tokensPerSecond = Math.max(0, stats.tokensPerSecond);
  if (stats.promptTokens !== null) m.promptTokens = stats.promptTokens;
  if (stats.completionTokens !== null) {
    m.completionTokens = stats.completionTokens;
    m.tokens = stats.completionTokens;
  }
  if (stats.plas) {
    m.plas = stats.plas;
    m.plasDensity = stats.plas.decode_density;
  }
  if (stats.leftOut) m.leftOutMessages = stats.leftOut;
  if (error) m.error = error;
  if (model) m.model = model;
  return m;
}

export function fromRecord(r: MessageRecord): ChatMessage {
  const saved = r.metadata.status;
  const status: MessageStatus = !r.complete ? 'interrupted' : saved === 'stopped' || saved === 'error' ? saved : 'done';
  return {
    id: r.id,
    parentId: r.parentId,
    role: r.role === 'user' ? 'user' : 'assistant',
    content: r.content,
    reasoning: r.reasoning ?? '',
    status,
    error: typeof r.metadata.error === 'string' ? r.metadata.error : null,
    stats: r.role === 'assistant' ? statsFromMetadata(r.metadata) : null,
    model: typeof r.metadata.model === 'string' ? r.metadata.model : null,
    attachments: r.attachments.map(({ name, mime, content, tokens }) => ({ name, mime, content, tokens })),
    siblingIndex: r.siblingIndex ?? 0,
    siblingCount: r.siblingCount ?? 1,
    siblingIds: r.siblingIds ?? [r.id],
  };
}

/** A user turn as the model reads it: each attached file in full, then what the user wrote. */
export function promptContent(content: string, attachments: readonly AttachmentRecord[]): string {
  if (attachments.length === 0) return content;
  const files = attachments.map((a) => `File: ${a.name}\n\`\`\`\n${a.content}\n\`\`\``).join('\n\n');
  return `${files}\n\n${content}`;
}

/** What the model is sent for a thread: the system prompt, then every turn that has text and did not fail. */
export function promptMessages(systemPrompt: string | null, thread: readonly ChatMessage[]): ChatMessageIn[] {
  const out: ChatMessageIn[] = systemPrompt?.trim() ? [{ role: 'system', content: systemPrompt.trim() }] : [];
  for (const m of thread) {
    if (m.status === 'error' || (m.content === '' && m.attachments.length === 0)) continue;
    out.push({ role: m.role, content: m.role === 'user' ? promptContent(m.content, m.attachments) : m.content });
  }
  return out;
}
