/**
 * The chat side of the store, opened for the /api chat routes: chats, search, export/import, presets, model settings.
 *
 * It opens its own connection to the server's database file (plas.db in the data dir) rather than sharing start.ts's,
 * so the chat routes plug into the app with one registration line and no change to how the server is assembled.
 * Both connections live on the one Node thread and better-sqlite3 is synchronous, so their transactions never
 * interleave; WAL lets each see the other's commits at once.
 */
import { ChatSearch } from './chat-search.ts';
import { ChatTransfer } from './chat-transfer.ts';
import { ChatsRepository } from './chats-repo.ts';
import type { Db } from './database.ts';
import { ModelSettingsRepository } from './model-settings-repo.ts';
import { PresetsRepository } from './presets-repo.ts';

export interface ChatStore {
  db: Db;
  chats: ChatsRepository;
  search: ChatSearch;
  transfer: ChatTransfer;
  presets: PresetsRepository;
  modelSettings: ModelSettingsRepository;
}

/** The chat repositories over the server's one database connection (its owner closes it). */
export function openChatStore(db: Db, now: () => number = Date.now): ChatStore {
  const chats = new ChatsRepository(db, now);
  // Undo lasts one session: what was put in the trash before this launch is deleted for good now.
  chats.purgeDeleted(now());
  return {
    db,
    chats,
    search: new ChatSearch(db),
    transfer: new ChatTransfer(db, chats, now),
    presets: new PresetsRepository(db, now),
    modelSettings: new ModelSettingsRepository(db, now),
  };
}
