/**
 * One choice of a chat completion as it streams: engine token events -> parsed content, reasoning and tool calls,
 * both as OpenAI's incremental deltas (for SSE chunks) and accumulated (for the final message).
 */
import { randomBytes } from 'node:crypto';
import type { EngineEvent } from '../../../engine/serving/types.ts';
import type { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import type { OutputDelta, OutputParser } from './chat-format.ts';
import { type ChatLogprob, chatLogprobs } from './logprobs.ts';

type TokenEvent = Extract<EngineEvent, { type: 'token' }>;
export type DoneEvent = Extract<EngineEvent, { type: 'done' }>;

export interface ToolCallOut {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** OpenAI's streamed tool-call delta: the first for a call carries id, type and name; later ones more arguments. */
export interface ToolCallChunk {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments?: string };
}

export interface ChoiceDelta {
  content?: string;
  reasoning_content?: string;
  tool_calls?: ToolCallChunk[];
}

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls';

export function toolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

export class ChatChoice {
  content = '';
  reasoning = '';
  readonly toolCalls: ToolCallOut[] = [];
  readonly logprobs: ChatLogprob[] = [];
  done: DoneEvent | null = null;
  /** Parser index -> our index, for the calls kept (parallel_tool_calls false keeps the first). */
  private readonly callIndex = new Map<number, number>();

  constructor(
    readonly index: number,
    private readonly parser: OutputParser,
    private readonly tokenizer: Tokenizer,
    private readonly parallelToolCalls: boolean,
  ) {}

  /** A token event -> this choice's delta and the logprobs of its tokens. */
  onToken(event: TokenEvent): { delta: ChoiceDelta; logprobs: ChatLogprob[] | null } {
    const logprobs = event.logprobs ? chatLogprobs(this.tokenizer, event.logprobs) : null;
    if (logprobs) this.logprobs.push(...logprobs);
    return { delta: this.apply(this.parser.push(event.text)), logprobs };
  }

  /** The end: what the parser held back. */
  onDone(event: DoneEvent): ChoiceDelta {
    this.done = event;
    return this.apply(this.parser.finish());
  }

  get finishReason(): ChatFinishReason {
    if (this.toolCalls.length > 0) return 'tool_calls';
    return this.done?.finishReason === 'length' ? 'length' : 'stop';
  }

  private apply(parsed: OutputDelta): ChoiceDelta {
    const delta: ChoiceDelta = {};
    if (parsed.content) {
      this.content += parsed.content;
      delta.content = parsed.content;
    }
    if (parsed.reasoning) {
      this.reasoning += parsed.reasoning;
      delta.reasoning_content = parsed.reasoning;
    }
    const calls: ToolCallChunk[] = [];
    for (const c of parsed.toolCalls ?? []) {
      let at = this.callIndex.get(c.index);
      if (at === undefined) {
        if (!this.parallelToolCalls && this.toolCalls.length > 0) continue;
        at = this.toolCalls.length;
        this.callIndex.set(c.index, at);
        this.toolCalls.push({
          id: c.id ?? toolCallId(),
          type: 'function',
          function: { name: c.name ?? '', arguments: '' },
        });
        const call = this.toolCalls[at];
        call.function.arguments += c.arguments ?? '';
        calls.push({
          index: at,
          id: call.id,
          type: 'function',
          function: { name: call.function.name, arguments: c.arguments ?? '' },
        });
        continue;
      }
      const call = this.toolCalls[at];
      if (c.name) call.function.name += c.name;
      if (c.arguments) call.function.arguments += c.arguments;
      const fn: ToolCallChunk['function'] = {};
      if (c.name) fn.name = c.name;
      if (c.arguments) fn.arguments = c.arguments;
      if (fn.name !== undefined || fn.arguments !== undefined) calls.push({ index: at, function: fn });
    }
    if (calls.length > 0) delta.tool_calls = calls;
    return delta;
  }

  /** The non-streamed message. */
  message(): {
    role: 'assistant';
    content: string | null;
    reasoning_content?: string;
    tool_calls?: ToolCallOut[];
  } {
    return {
      role: 'assistant',
      // OpenAI sends null content beside tool calls when nothing else was said.
      content: this.toolCalls.length > 0 && this.content.trim() === '' ? null : this.content,
      ...(this.reasoning ? { reasoning_content: this.reasoning } : {}),
      ...(this.toolCalls.length > 0 ? { tool_calls: this.toolCalls } : {}),
    };
  }
}
