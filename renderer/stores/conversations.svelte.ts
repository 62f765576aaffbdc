/**
 * The conversation list of the sidebar (the server's history, newest activity first), and what is done to a whole
 * conversation: rename, delete with Undo (the server keeps it in its trash), export, import. A toast reports each
 * outcome; the chat store opens what the user picks.
 */
import { download } from '../lib/download.ts';
import { type ConversationRecord, chatsApi, type ThreadRecord } from '../services/chats-api.ts';
import { describe } from '../services/errors.ts';

export interface Toast {
  message: string;
  /** Offered for a while after a delete. */
  undo?: () => void;
  error?: boolean;
}

const LAST_OPEN = 'plas.chat.lastOpen';
const TOAST_MS = 8000;

class ConversationsStore {
  #list = $state<ConversationRecord[]>([]);
  #loaded = $state(false);
  #error = $state<string | null>(null);
  #toast = $state<Toast | null>(null);
  #toastTimer: ReturnType<typeof setTimeout> | null = null;

  get list(): ConversationRecord[] {
    return this.#list;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): string | null {
    return this.#error;
  }
  get toast(): Toast | null {
    return this.#toast;
  }

  /** The conversation open when the page was last left (reopened on the next visit). */
  get lastOpen(): string | null {
    return localStorage.getItem(LAST_OPEN);
  }
  rememberOpen(id: string | null): void {
    if (id) localStorage.setItem(LAST_OPEN, id);
    else localStorage.removeItem(LAST_OPEN);
  }

  async refresh(): Promise<void> {
    try {
      this.#list = await chatsApi.list();
      this.#error = null;
    } catch (error) {
      this.#error = describe(error);
    } finally {
      this.#loaded = true;
    }
  }

  show(toast: Toast): void {
    if (this.#toastTimer) clearTimeout(this.#toastTimer);
    this.#toast = toast;
    this.#toastTimer = setTimeout(() => this.dismiss(), TOAST_MS);
  }
  dismiss(): void {
    this.#toast = null;
  }

  async rename(id: string, title: string): Promise<boolean> {
    try {
      const { conversation } = await chatsApi.rename(id, title.trim().slice(0, 200));
      this.#list = this.#list.map((c) => (c.id === id ? conversation : c));
      return true;
    } catch (error) {
      this.show({ message: `Could not rename: ${describe(error)}`, error: true });
      return false;
    }
  }

  /** Moves it to the server's trash; the toast's Undo restores it and calls `restored`. */
  async remove(id: string, restored: (id: string) => void): Promise<boolean> {
    const title = this.#list.find((c) => c.id === id)?.title ?? 'the conversation';
    try {
      await chatsApi.remove(id);
    } catch (error) {
      this.show({ message: `Could not delete: ${describe(error)}`, error: true });
      return false;
    }
    this.#list = this.#list.filter((c) => c.id !== id);
    if (this.lastOpen === id) this.rememberOpen(null);
    this.show({
      message: `Deleted “${title}”.`,
      undo: async () => {
        this.dismiss();
        try {
          await chatsApi.restore(id);
          await this.refresh();
          this.show({ message: `Restored “${title}”.` });
          restored(id);
        } catch (error) {
          this.show({ message: `Could not restore: ${describe(error)}`, error: true });
        }
      },
    });
    return true;
  }

  async export(id: string, format: 'json' | 'markdown'): Promise<void> {
    try {
      const { blob, fileName } = await chatsApi.exportFile(id, format);
      download(blob, fileName);
    } catch (error) {
      this.show({ message: `Could not export: ${describe(error)}`, error: true });
    }
  }

  /** Imports an export file; the new conversation's thread, or null when refused (the toast says why). */
  async import(file: File): Promise<ThreadRecord | null> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await file.text());
    } catch (error) {
      this.show({ message: `${file.name} is not a JSON file: ${(error as Error).message}`, error: true });
      return null;
    }
    try {
      const thread = await chatsApi.import(parsed);
      await this.refresh();
      this.show({ message: `Imported “${thread.conversation.title}”.` });
      return thread;
    } catch (error) {
      this.show({ message: `${file.name} was refused: ${describe(error)}`, error: true });
      return null;
    }
  }
}

export const conversations = new ConversationsStore();
