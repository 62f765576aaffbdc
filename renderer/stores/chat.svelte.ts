/**
 * The open conversation: its thread (the active branch, from the server), the reply streaming into it, and the
 * actions on it (send, regenerate, edit, switch branch). Stream deltas reach the reply through a StreamBatcher (one
 * paint per animation frame) and only the streaming message's fields change, so the rest of the thread is not
 * re-rendered per token. The reply is created on the server before the first token and saved as it arrives
 * (ReplySaver), so a crash keeps what was shown; its figures are saved in its metadata at the end.
 */
import { ReplySaver } from '../lib/reply-saver.ts';
import { AttachmentRefused, readTextFile } from '../lib/text-file.ts';
import { type ChatParams, type ListedModel, listChatModels, streamChat } from '../services/chat-stream.ts';
import {
  type AttachmentRecord,
  type ConversationRecord,
  chatsApi,
  type SamplingFields,
  type ThreadRecord,
} from '../services/chats-api.ts';
import { type ChatMessage, fromRecord, metadataFrom, promptMessages } from '../services/conversations.ts';
import { describe } from '../services/errors.ts';
import type { ChatMessageIn, PlasReport, Usage } from '../services/types.ts';
import { type Fitted, fitToContext } from './context-fit.ts';
import { conversations } from './conversations.svelte.ts';
import { replyStats, type StreamClock } from './reply-stats.ts';
import { StreamBatcher } from './stream-batcher.ts';
import { tuning } from './tuning.svelte.ts';

/** A local model, or a remote provider's "NAME/MODEL" (chat-stream.ts). */
export type ChatModel = ListedModel;

/** A file attached to the message being written, with its token count once known. */
export interface PendingAttachment extends AttachmentRecord {
  counting: boolean;
}

const isAbort = (error: unknown) => error instanceof DOMException && error.name === 'AbortError';

/** The Tuning page's sampling in /v1's names: what a chat started without a preset keeps. */
export function tuningSampling(): SamplingFields {
  const s = tuning.sampling;
  return {
    temperature: s.temperature,
    top_p: s.topP,
    max_tokens: s.maxTokens,
    ...(s.minTokens > 0 ? { min_tokens: s.minTokens } : {}),
  };
}

export class ChatStore {
  #conversation = $state<ConversationRecord | null>(null);
  #messages = $state<ChatMessage[]>([]);
  #models = $state<ChatModel[]>([]);
  #chosen = $state<string | null>(null);
  #modelsError = $state<string | null>(null);
  #error = $state<string | null>(null);
  #streaming = $state(false);
  #loading = $state(false);
  /** Counts painted batches: the message list follows it to keep the newest text in view. */
  #painted = $state(0);
  /** A message to bring into view (a search hit), with a counter so the same one can be asked for again. */
  #focus = $state<{ id: string; n: number } | null>(null);
  #controller: AbortController | null = null;
  /** Bumped by every open and New chat: an open that resolves after a newer one (or New chat) is dropped. */
  #view = 0;

  /** What the user is writing, and the files attached to it (the context meter counts both). */
  draft = $state('');
  attachments = $state<PendingAttachment[]>([]);
  /** A new chat's system prompt and sampling (from a preset, else the Tuning page's). */
  newChat = $state<{ presetId: string | null; systemPrompt: string; sampling: SamplingFields | null }>({
    presetId: null,
    systemPrompt: tuning.sampling.systemPrompt,
    sampling: null,
  });

  get conversation(): ConversationRecord | null {
    return this.#conversation;
  }
  get messages(): ChatMessage[] {
    return this.#messages;
  }
  get models(): ChatModel[] {
    return this.#models;
  }
  get modelsError(): string | null {
    return this.#modelsError;
  }
  get error(): string | null {
    return this.#error;
  }
  get streaming(): boolean {
    return this.#streaming;
  }
  get loading(): boolean {
    return this.#loading;
  }
  get painted(): number {
    return this.#painted;
  }
  get focus(): { id: string; n: number } | null {
    return this.#focus;
  }
  /** The model the next message goes to: the one picked, else the loaded one, else the first registered. */
  get model(): string | null {
    return this.#chosen ?? this.#models.find((m) => m.loaded)?.id ?? this.#models[0]?.id ?? null;
  }
  /** The system prompt the next request starts with. */
  get systemPrompt(): string {
    return this.#conversation ? (this.#conversation.systemPrompt ?? '') : this.newChat.systemPrompt;
  }
  /** The sampling the next request uses. */
  get sampling(): SamplingFields {
    return this.#conversation?.sampling ?? this.newChat.sampling ?? tuningSampling();
  }

  choose(model: string): void {
    this.#chosen = model;
  }

  clearFocus(): void {
    this.#focus = null;
  }

  dismissError(): void {
    this.#error = null;
  }

  async refreshModels(): Promise<void> {
    try {
      this.#models = await listChatModels();
      this.#modelsError = null;
      if (this.#chosen && !this.#models.some((m) => m.id === this.#chosen)) this.#chosen = null;
    } catch (error) {
      this.#modelsError = describe(error);
    }
  }

  newConversation(): void {
    this.#view++;
    this.stop();
    this.#conversation = null;
    this.#messages = [];
    this.#error = null;
    this.newChat = { presetId: null, systemPrompt: tuning.sampling.systemPrompt, sampling: null };
    conversations.rememberOpen(null);
  }

  /** Opens a conversation; with `messageId`, on the branch holding that message, scrolled to it. */
  async open(id: string, messageId: string | null = null): Promise<boolean> {
    if (this.#streaming) this.stop();
    const view = ++this.#view;
    this.#loading = true;
    try {
      let thread = await chatsApi.thread(id);
      if (messageId && !thread.messages.some((m) => m.id === messageId)) {
        thread = await chatsApi.showBranch(id, messageId);
      }
      if (view !== this.#view) return false;
      this.#show(thread);
      this.#error = null;
      conversations.rememberOpen(id);
      if (thread.conversation.model && this.#models.some((m) => m.id === thread.conversation.model)) {
        this.#chosen = thread.conversation.model;
      }
      if (messageId) this.#focus = { id: messageId, n: (this.#focus?.n ?? 0) + 1 };
      return true;
    } catch (error) {
      this.#error = `Could not open the conversation: ${describe(error)}`;
      return false;
    } finally {
      this.#loading = false;
    }
  }

  /** Shows a thread the server answered with (after an import, a rename, a branch switch). */
  #show(thread: ThreadRecord): void {
    this.#conversation = thread.conversation;
    this.#messages = thread.messages.filter((m) => m.role === 'user' || m.role === 'assistant').map(fromRecord);
  }

  showThread(thread: ThreadRecord): void {
    this.#view++;
    this.stop();
    this.#show(thread);
    conversations.rememberOpen(thread.conversation.id);
  }

  /** The conversation was renamed elsewhere (the sidebar): the header follows. */
  renamed(record: ConversationRecord): void {
    if (this.#conversation?.id === record.id) this.#conversation = { ...this.#conversation, title: record.title };
  }

  closeIf(id: string): void {
    if (this.#conversation?.id === id) this.newConversation();
  }

  stop(): void {
    this.#controller?.abort();
  }

  /** Why the last file could not be attached (too big, binary, not countable). */
  attachError = $state<string | null>(null);

  /** Reads a text file into the draft's attachments and counts its tokens with the model's tokenizer. */
  async attach(file: File): Promise<void> {
    this.attachError = null;
    let text: { name: string; mime: string; content: string };
    try {
      text = await readTextFile(file);
    } catch (error) {
      this.attachError = error instanceof AttachmentRefused ? error.message : `${file.name}: ${describe(error)}`;
      return;
    }
    this.attachments.push({ ...text, tokens: null, counting: true });
    const added = this.attachments[this.attachments.length - 1];
    const model = this.model;
    // A remote provider's model has no tokenizer here: its attachments go uncounted.
    const local = this.#models.find((m) => m.id === model)?.provider == null;
    try {
      if (model && local) added.tokens = (await chatsApi.countText(model, text.content)).tokens;
    } catch (error) {
      this.attachError = `Could not count the tokens of ${file.name}: ${describe(error)}`;
    } finally {
      added.counting = false;
    }
  }

  detach(index: number): void {
    this.attachments.splice(index, 1);
  }

  async send(text: string): Promise<void> {
    const model = this.model;
    const attachments = this.attachments.filter((a) => !a.counting);
    if (this.#streaming || (text.trim() === '' && attachments.length === 0) || model === null) return;
    try {
      if (!this.#conversation) {
        const title = (text.trim() || attachments[0]?.name || 'New chat').replace(/\s+/g, ' ').slice(0, 60);
        this.#conversation = await chatsApi.create({
          title,
          model,
          systemPrompt: this.newChat.systemPrompt.trim() || null,
          sampling: this.newChat.sampling ?? tuningSampling(),
        });
        conversations.rememberOpen(this.#conversation.id);
      }
      const saved = await chatsApi.addMessage(this.#conversation.id, {
        parentId: this.#messages.at(-1)?.id ?? null,
        role: 'user',
        content: text,
        attachments: attachments.map(({ name, mime, content, tokens }) => ({ name, mime, content, tokens })),
      });
      this.attachments = [];
      this.#messages.push(fromRecord(saved));
    } catch (error) {
      this.#error = `Could not save your message: ${describe(error)}`;
      return;
    }
    await this.#reply(model, lastId(this.#messages));
  }

  /** A new answer to the same question, kept beside the old one (a sibling in the tree). */
  async regenerate(messageId: string): Promise<void> {
    const at = this.#messages.findIndex((m) => m.id === messageId);
    const model = this.model;
    if (this.#streaming || at <= 0 || model === null) return;
    this.#messages = this.#messages.slice(0, at);
    await this.#reply(model, this.#messages[at - 1].id);
  }

  /** Sends an edited question as a sibling of the old one (whose branch stays reachable), and answers it. */
  async edit(messageId: string, text: string): Promise<void> {
    const at = this.#messages.findIndex((m) => m.id === messageId);
    const model = this.model;
    const old = this.#messages[at];
    if (this.#streaming || !this.#conversation || at < 0 || model === null || text.trim() === '') return;
    try {
      const saved = await chatsApi.addMessage(this.#conversation.id, {
        parentId: old.parentId,
        role: 'user',
        content: text,
        attachments: $state.snapshot(old.attachments),
      });
      this.#messages = [...this.#messages.slice(0, at), fromRecord(saved)];
    } catch (error) {
      this.#error = `Could not save the edit: ${describe(error)}`;
      return;
    }
    await this.#reply(model, lastId(this.#messages));
  }

  /** Shows the sibling `delta` away from this message (‹ and ›), down to the newest end of its branch. */
  async switchBranch(messageId: string, delta: number): Promise<void> {
    const m = this.#messages.find((x) => x.id === messageId);
    const target = m?.siblingIds[m.siblingIndex + delta];
    if (this.#streaming || !this.#conversation || !target) return;
    try {
      this.#show(await chatsApi.showBranch(this.#conversation.id, target));
    } catch (error) {
      this.#error = `Could not switch branch: ${describe(error)}`;
    }
  }

  /** Streams the model's answer to the thread as it stands, as a new message under `parentId`. */
  async #reply(model: string, parentId: string): Promise<void> {
    const conversation = this.#conversation;
    if (!conversation) return;
    const thread = promptMessages(conversation.systemPrompt, $state.snapshot(this.#messages) as ChatMessage[]);
    const controller = new AbortController();
    this.#controller = controller;
    this.#streaming = true;
    const { messages: history, leftOut } = await this.#fit(model, thread);
    let saver: ReplySaver;
    try {
      const created = await chatsApi.addMessage(conversation.id, {
        parentId,
        role: 'assistant',
        content: '',
        complete: false,
        metadata: { model },
      });
      this.#messages.push({ ...fromRecord(created), status: 'streaming', model });
      saver = new ReplySaver(created.id, chatsApi.patchMessage);
    } catch (error) {
      this.#streaming = false;
      this.#controller = null;
      this.#error = `Could not save the reply: ${describe(error)}`;
      return;
    }
    const reply = this.#messages[this.#messages.length - 1]; // the reactive proxy: writes to it repaint it alone
    const clock: StreamClock = { sentAt: performance.now(), firstTokenAt: null, endedAt: 0 };
    let usage: Usage | null = null;
    let plas: PlasReport | null = null;
    // A provider's reply (even another PLAS Studio's) says nothing about this GPU's attention: no density shown.
    const remote = this.#models.find((m) => m.id === model)?.provider != null;
    const batcher = new StreamBatcher((content, reasoning) => {
      reply.content += content;
      reply.reasoning += reasoning;
      this.#painted++;
    });
    const first = () => {
      clock.firstTokenAt ??= performance.now();
    };
    try {
      await streamChat(
        this.#params(model, history),
        {
          onContent: (t) => {
            first();
            batcher.push(t);
            saver.push(t);
          },
          onReasoning: (t) => {
            first();
            batcher.push('', t);
            saver.push('', t);
          },
          onUsage: (u) => (usage = u),
          onPlas: (p) => (plas = remote ? null : p),
          onFinish: () => {},
        },
        controller.signal,
      );
      reply.status = 'done';
    } catch (error) {
      if (isAbort(error) || controller.signal.aborted) reply.status = 'stopped';
      else {
        reply.status = 'error';
        reply.error = describe(error);
      }
    } finally {
      batcher.flush();
      clock.endedAt = performance.now();
      reply.stats = replyStats(clock, usage, plas, leftOut || null);
      this.#streaming = false;
      this.#controller = null;
      this.#painted++;
    }
    await saver.finish(metadataFrom(reply.stats, reply.status, reply.error, model));
    if (saver.error) this.#error = `The reply could not be saved in full: ${describe(saver.error)}`;
    // The conversation moved to the top of the list; a request may have loaded the model (the picker shows it).
    await Promise.all([conversations.refresh(), this.refreshModels()]);
  }

  /**
   * The thread as it fits the model's context (oldest turns left out: context-fit.ts). A remote provider's model has
   * no tokenizer here, and a count that fails sends the whole thread: the server then says what does not fit.
   */
  async #fit(model: string, thread: ChatMessageIn[]): Promise<Fitted> {
    const local = this.#models.find((m) => m.id === model)?.provider == null;
    if (!local) return { messages: thread, leftOut: 0 };
    const budget = Number(this.sampling.max_tokens);
    try {
      return await fitToContext(thread, Number.isFinite(budget) && budget > 0 ? budget : null, (messages) =>
        chatsApi.countMessages(model, messages),
      );
    } catch {
      return { messages: thread, leftOut: 0 };
    }
  }

  #params(model: string, messages: ChatParams['messages']): ChatParams {
    return { ...this.sampling, model, messages };
  }
}

/** The id of the last message of a thread (the parent of the reply about to be written). */
function lastId(messages: readonly ChatMessage[]): string {
  const last = messages.at(-1);
  if (!last) throw new Error('a reply needs a question before it');
  return last.id;
}

export const chat = new ChatStore();
