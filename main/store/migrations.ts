/**
 * The database schema as an ordered list of migrations. Migration i (1-based) takes the schema from version i - 1 to
 * i; SQLite's `user_version` holds the version reached. Never edit a released migration: add the next one (the app
 * issue adds chats as migration 2).
 */
import type Database from 'better-sqlite3';
import { CHATS_SCHEMA } from './chats-schema.ts';
import { PROVIDERS_SCHEMA } from './providers-schema.ts';

export interface Migration {
  /** What it does, for error messages. */
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'models registry',
    up(db) {
      // name is the key requests use; path is where it was added from (never derived from a name).
      db.exec(`
        CREATE TABLE models (
          name           TEXT PRIMARY KEY NOT NULL,
          path           TEXT NOT NULL,
          architecture   TEXT NOT NULL,
          parameters     INTEGER NOT NULL,
          dtype          TEXT NOT NULL,
          context_length INTEGER NOT NULL,
          size_bytes     INTEGER NOT NULL,
          added_at       INTEGER NOT NULL,
          keep_alive_ms  INTEGER
        ) STRICT;
      `);
    },
  },
  {
    name: 'chats, presets, model settings, search index',
    up(db) {
      db.exec(CHATS_SCHEMA);
    },
  },
  {
    name: 'remote providers',
    up(db) {
      db.exec(PROVIDERS_SCHEMA);
    },
  },
];
