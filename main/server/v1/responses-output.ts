/**
 * Parsed output deltas -> the Responses API's output items (reasoning, message, function_call), in the order they
 * appear, with the typed stream events that open, fill and close each item. The non-streamed response is built by
 * the same code with events dropped, so both agree.
 */
import { randomBytes } from 'node:crypto';
import { toolCallId } from './chat-choice.ts';
import type { OutputDelta } from './chat-format.ts';

export type Emit = (type: string, payload: Record<string, unknown>) => Promise<void>;

type ReasoningItem = {
  type: 'reasoning';
  id: string;
  summary: [];
  content: { type: 'reasoning_text'; text: string }[];
};
type MessageItem = {
  type: 'message';
  id: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: { type: 'output_text'; text: string; annotations: []; logprobs: [] }[];
};
type CallItem = {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete';
};
export type OutputItem = ReasoningItem | MessageItem | CallItem;

function itemId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

export class ResponseOutput {
  readonly items: OutputItem[] = [];
  private open: OutputItem | null = null;
  /** The parser's call index -> its item (calls stream in pieces). */
  private readonly calls = new Map<number, CallItem>();

  constructor(
    private readonly emit: Emit,
    /** parallel_tool_calls false: only the first call is kept. */
    private readonly parallelToolCalls: boolean,
  ) {}

  get toolCalls(): number {
    return this.calls.size;
  }

  get text(): string {
    return this.items
      .filter((i): i is MessageItem => i.type === 'message')
      .map((i) => i.content[0].text)
      .join('');
  }

  async push(delta: OutputDelta): Promise<void> {
    if (delta.reasoning) {
      const item = this.open?.type === 'reasoning' ? this.open : await this.start(this.reasoningItem());
      (item as ReasoningItem).content[0].text += delta.reasoning;
      await this.emit('response.reasoning_text.delta', { ...this.at(item), content_index: 0, delta: delta.reasoning });
    }
    if (delta.content) {
      const item = this.open?.type === 'message' ? this.open : await this.start(this.messageItem());
      (item as MessageItem).content[0].text += delta.content;
      await this.emit('response.output_text.delta', {
        ...this.at(item),
        content_index: 0,
        delta: delta.content,
        logprobs: [],
      });
    }
    for (const c of delta.toolCalls ?? []) {
      let item = this.calls.get(c.index);
      if (!item) {
        if (!this.parallelToolCalls && this.calls.size > 0) continue;
        item = {
          type: 'function_call',
          id: itemId('fc'),
          call_id: c.id ?? toolCallId(),
          name: c.name ?? '',
          arguments: '',
          status: 'in_progress',
        };
        this.calls.set(c.index, item);
        await this.start(item);
      } else if (c.name) item.name += c.name;
      if (c.arguments) {
        item.arguments += c.arguments;
        await this.emit('response.function_call_arguments.delta', { ...this.at(item), delta: c.arguments });
      }
    }
  }

  /** Close the open item; `status` is the message's and calls' final status. */
  async finish(status: 'completed' | 'incomplete'): Promise<void> {
    await this.close(status);
  }

  private at(item: OutputItem) {
    return { item_id: item.id, output_index: this.items.indexOf(item) };
  }

  private reasoningItem(): ReasoningItem {
    return { type: 'reasoning', id: itemId('rs'), summary: [], content: [{ type: 'reasoning_text', text: '' }] };
  }

  private messageItem(): MessageItem {
    return {
      type: 'message',
      id: itemId('msg'),
      status: 'in_progress',
      role: 'assistant',
      content: [{ type: 'output_text', text: '', annotations: [], logprobs: [] }],
    };
  }

  private async start(item: OutputItem): Promise<OutputItem> {
    await this.close('completed');
    this.items.push(item);
    this.open = item;
    const output_index = this.items.length - 1;
    if (item.type === 'message') {
      await this.emit('response.output_item.added', { output_index, item: { ...item, content: [] } });
      await this.emit('response.content_part.added', {
        item_id: item.id,
        output_index,
        content_index: 0,
        part: { ...item.content[0] },
      });
    } else if (item.type === 'reasoning') {
      await this.emit('response.output_item.added', { output_index, item: { ...item, content: [] } });
      await this.emit('response.content_part.added', {
        item_id: item.id,
        output_index,
        content_index: 0,
        part: { ...item.content[0] },
      });
    } else await this.emit('response.output_item.added', { output_index, item: { ...item } });
    return item;
  }

  private async close(status: 'completed' | 'incomplete'): Promise<void> {
    const item = this.open;
    if (!item) return;
    this.open = null;
    const where = this.at(item);
    if (item.type === 'message') {
      item.status = status;
      const part = item.content[0];
      await this.emit('response.output_text.done', { ...where, content_index: 0, text: part.text, logprobs: [] });
      await this.emit('response.content_part.done', { ...where, content_index: 0, part: { ...part } });
    } else if (item.type === 'reasoning') {
      const part = item.content[0];
      await this.emit('response.reasoning_text.done', { ...where, content_index: 0, text: part.text });
      await this.emit('response.content_part.done', { ...where, content_index: 0, part: { ...part } });
    } else {
      item.status = status;
      await this.emit('response.function_call_arguments.done', {
        ...where,
        name: item.name,
        arguments: item.arguments,
      });
    }
    await this.emit('response.output_item.done', { output_index: where.output_index, item: structuredClone(item) });
  }
}
