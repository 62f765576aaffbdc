/**
 * The open conversation and its streaming reply. Stream deltas reach the reply through a StreamBatcher (one paint
 * per animation frame); the figures under the reply come from the server's usage and plas fields at the end.
 * Conversations are saved through a ConversationRepository (in memory today, the server's /api/conversations next).
 */
import { type ChatParams, listChatModels, streamChat } from '../services/chat-stream.ts';
import { type ConversationRepository, MemoryConversations, type StoredMessage } from '../services/conversations.ts';
import { describe } from '../services/errors.ts';
import type { ChatMessageIn, PlasReport, Usage } from '../services/types.ts';
import { replyStats, type StreamClock } from './reply-stats.ts';
import { StreamBatcher } from './stream-batcher.ts';
import { tuning } from './tuning.svelte.ts';

export interface ChatModel {
  id: string;
  loaded: boolean;
}

const message = (role: StoredMessage['role'], content: string, model: string | null): StoredMessage => ({
  id: crypto.randomUUID(),
  role,
  content,
  reasoning: '',
  status: role === 'user' ? 'done' : 'streaming',
  error: null,
  stats: null,
  model,
});

const isAbort = (error: unknown) => error instanceof DOMException && error.name === 'AbortError';

export class ChatStore {
  #conversationId: string | null = null;
  #messages = $state<StoredMessage[]>([]);
  #models = $state<ChatModel[]>([]);
  #chosen = $state<string | null>(null);
  #modelsError = $state<string | null>(null);
  #streaming = $state(false);
  /** Counts painted batches: the message list follows it to keep the newest text in view. */
  #painted = $state(0);
  #controller: AbortController | null = null;

  constructor(private readonly repo: ConversationRepository = new MemoryConversations()) {}

  get messages(): StoredMessage[] {
    return this.#messages;
  }
  get models(): ChatModel[] {
    return this.#models;
  }
  get modelsError(): string | null {
    return this.#modelsError;
  }
  get streaming(): boolean {
    return this.#streaming;
  }
  get painted(): number {
    return this.#painted;
  }
  /** The model the next message goes to: the one picked, else the loaded one, else the first registered. */
  get model(): string | null {
    return this.#chosen ?? this.#models.find((m) => m.loaded)?.id ?? this.#models[0]?.id ?? null;
  }

  choose(model: string): void {
    this.#chosen = model;
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
    this.stop();
    this.#conversationId = null;
    this.#messages = [];
  }

  stop(): void {
    this.#controller?.abort();
  }

  async send(text: string): Promise<void> {
    const model = this.model;
    if (this.#streaming || text.trim() === '' || model === null) return;
    this.#conversationId ??= (await this.repo.create(text.trim().slice(0, 60))).id;
    const conversationId = this.#conversationId;
    const history = this.#history();
    this.#messages.push(message('user', text, null), message('assistant', '', model));
    const [question, reply] = this.#messages.slice(-2); // the reactive proxies: writes to them repaint
    await this.repo.saveMessage(conversationId, $state.snapshot(question));

    const controller = new AbortController();
    this.#controller = controller;
    this.#streaming = true;
    const clock: StreamClock = { sentAt: performance.now(), firstTokenAt: null, endedAt: 0 };
    let usage: Usage | null = null;
    let plas: PlasReport | null = null;
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
        this.#params(model, [...history, { role: 'user', content: text }]),
        {
          onContent: (t) => {
            first();
            batcher.push(t);
          },
          onReasoning: (t) => {
            first();
            batcher.push('', t);
          },
          onUsage: (u) => (usage = u),
          onPlas: (p) => (plas = p),
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
      reply.stats = replyStats(clock, usage, plas);
      this.#streaming = false;
      this.#controller = null;
      this.#painted++;
      await this.repo.saveMessage(conversationId, $state.snapshot(reply));
    }
    // A request may have loaded the model (the server loads on first use): the picker shows it loaded now.
    await this.refreshModels();
  }

  /** What the model is sent: the system prompt, then every exchange that was not an error. */
  #history(): ChatMessageIn[] {
    const system = tuning.sampling.systemPrompt.trim();
    const out: ChatMessageIn[] = system ? [{ role: 'system', content: system }] : [];
    for (const m of this.#messages) {
      if (m.status !== 'error' && m.content !== '') out.push({ role: m.role, content: m.content });
    }
    return out;
  }

  #params(model: string, messages: ChatMessageIn[]): ChatParams {
    const s = tuning.sampling;
    return {
      model,
      messages,
      temperature: s.temperature,
      top_p: s.topP,
      max_tokens: s.maxTokens,
      ...(s.minTokens > 0 ? { min_tokens: s.minTokens } : {}),
    };
  }
}

export const chat = new ChatStore();
