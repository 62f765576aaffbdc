/**
 * Full-text search over message text and conversation titles (FTS5). Whatever the user types is turned into a query
 * of quoted terms, so FTS5 syntax in it (quotes, `*`, `NEAR`, `AND`, `-`, `:`, parentheses) is searched for as text
 * and can never make the query fail. Snippets come back as HTML: the text escaped, the hits in <mark>…</mark>.
 */
import { randomBytes } from 'node:crypto';
import type { SearchHit } from './chat-types.ts';
import type { Db } from './database.ts';

// Declared with the other chat records (an import-free file the renderer imports too).
export type { SearchHit } from './chat-types.ts';

// snippet() cannot escape the text around its markers, so it marks hits with markers made fresh for each search (a
// random nonce: stored text cannot contain them by chance or by design), and snippetHtml escapes the text between.
export interface Markers {
  open: string;
  close: string;
}

export function newMarkers(): Markers {
  const nonce = randomBytes(12).toString('hex');
  return { open: `\u0001<${nonce}`, close: `${nonce}>\u0001` };
}

/**
 * A safe FTS5 MATCH expression for free text: each word becomes a quoted string ("" inside doubled), all of them must
 * match (implicit AND), and the last one matches as a prefix so results come while typing. null: nothing to search.
 */
export function ftsQuery(text: string): string | null {
  // Words without a letter or digit produce no token under unicode61, and an empty phrase is not worth sending.
  const words = text
    .split(/\s+/u)
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 32);
  if (words.length === 0) return null;
  return words.map((w, i) => `"${w.replaceAll('"', '""')}"${i === words.length - 1 ? '*' : ''}`).join(' ');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes the snippet's text and turns the markers into <mark> tags: the result's only tags are <mark>…</mark>. */
export function snippetHtml(raw: string, { open, close }: Markers): string {
  const html = (text: string) => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
  let out = '';
  for (const [i, part] of raw.split(open).entries()) {
    if (i === 0) {
      out += html(part);
      continue;
    }
    // Each piece after an open marker is "hit<close>rest"; snippet() closes every mark it opens.
    const cut = part.indexOf(close);
    out +=
      cut < 0
        ? `<mark>${html(part)}</mark>`
        : `<mark>${html(part.slice(0, cut))}</mark>${html(part.slice(cut + close.length))}`;
  }
  return out;
}

export class ChatSearch {
  constructor(private readonly db: Db) {}

  /** Best matches first (bm25), trash excluded; [] for a query with nothing to search. */
  search(text: string, limit = 50): SearchHit[] {
    const query = ftsQuery(text);
    if (query === null) return [];
    const markers = newMarkers();
    const rows = this.db
      .prepare(
        `SELECT c.id AS conversationId, c.title AS title, m.id AS messageId,
                snippet(messages_fts, 0, :open, :close, '…', 16) AS snippet, messages_fts.rank AS rank
         FROM messages_fts
         JOIN messages m ON m.seq = messages_fts.rowid
         JOIN conversations c ON c.id = m.conversation_id
         WHERE messages_fts MATCH :query AND c.deleted_at IS NULL
         UNION ALL
         SELECT c.id, c.title, NULL, snippet(conversations_fts, 0, :open, :close, '…', 16), conversations_fts.rank
         FROM conversations_fts
         JOIN conversations c ON c.seq = conversations_fts.rowid
         WHERE conversations_fts MATCH :query AND c.deleted_at IS NULL
         ORDER BY rank LIMIT :limit`,
      )
      .all({ query, ...markers, limit }) as (SearchHit & { rank: number })[];
    return rows.map((r) => ({
      conversationId: r.conversationId,
      title: r.title,
      messageId: r.messageId,
      snippet: snippetHtml(r.snippet, markers),
    }));
  }
}
