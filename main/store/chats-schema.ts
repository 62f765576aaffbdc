/**
 * Migration 2: chats. Frozen once released, like every migration: a change is migration 3, never an edit here.
 *
 * - Each table keys its rows by a TEXT uuid (`id`, what the API shows) and also has `seq INTEGER PRIMARY KEY`: the
 *   rowid made explicit, so VACUUM can never renumber it (the external-content FTS indexes point at rowids), and a
 *   stable creation order for siblings created in the same millisecond.
 * - Messages form a tree: `parent_id` NULL for a root; regenerate and edit add siblings. The conversation's
 *   `active_leaf_id` says which branch is shown (the path from the root to it).
 * - `complete` is 0 while an assistant message streams; the server appends to it and sets 1 at the end.
 * - Search: two FTS5 indexes over the rows themselves (external content, so the text is stored once), kept in step
 *   by triggers. The `'delete'` command needs the exact old text, which the triggers hand it.
 * - Foreign keys cascade: purging a conversation removes its messages, their attachments, and their index entries
 *   (cascaded deletes fire the delete triggers).
 */
export const CHATS_SCHEMA = `
  CREATE TABLE conversations (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    title          TEXT NOT NULL,
    model          TEXT,
    system_prompt  TEXT,
    sampling       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(sampling)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,
    active_leaf_id TEXT REFERENCES messages(id) ON DELETE SET NULL
  ) STRICT;
  CREATE INDEX conversations_recent ON conversations(updated_at DESC) WHERE deleted_at IS NULL;

  CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id       TEXT REFERENCES messages(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content         TEXT NOT NULL DEFAULT '',
    reasoning       TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at      INTEGER NOT NULL,
    complete        INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1))
  ) STRICT;
  CREATE INDEX messages_conversation ON messages(conversation_id);
  CREATE INDEX messages_parent ON messages(parent_id);

  CREATE TABLE attachments (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    content    TEXT NOT NULL,
    tokens     INTEGER
  ) STRICT;
  CREATE INDEX attachments_message ON attachments(message_id);

  CREATE TABLE presets (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    system_prompt TEXT,
    sampling      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(sampling)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE model_settings (
    model      TEXT PRIMARY KEY NOT NULL,
    settings   TEXT NOT NULL CHECK (json_valid(settings)),
    updated_at INTEGER NOT NULL
  ) STRICT;

  CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content = 'messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.seq, new.content);
  END;
  CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
  END;
  CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.seq, new.content);
  END;

  CREATE VIRTUAL TABLE conversations_fts USING fts5(
    title, content = 'conversations', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts(rowid, title) VALUES (new.seq, new.title);
  END;
  CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.seq, old.title);
  END;
  CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.seq, old.title);
    INSERT INTO conversations_fts(rowid, title) VALUES (new.seq, new.title);
  END;
`;
