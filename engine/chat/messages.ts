/**
 * Chat messages as an OpenAI chat request carries them once its shape is checked, and their conversion into what
 * Hugging Face chat templates read (transformers' and vLLM's conventions):
 * - content is one string: text parts are joined with "\n", as vLLM joins them for string-content templates;
 * - "developer" (OpenAI's newer name for the system role) is "system", the role open models' templates know;
 * - an assistant's tool call arguments, JSON text on the wire, become an object, because the templates write
 *   `arguments | tojson` (Llama 3.1/3.2: `"parameters": ` + tojson; Mistral v0.3: `tool_call.function | tojson`;
 *   Qwen3 prints a string as the client wrote it, an object with the JSON spacing the model was trained on);
 * - a null assistant content is "" (Qwen3's template tests `'</think>' in message.content`), and `tool_calls` is left
 *   out when there are none (Llama 3.1 branches on `'tool_calls' in message`, so an empty list would raise);
 * - reasoning of an earlier turn goes in `reasoning_content`, the name Qwen3's template reads.
 */

import { InvalidRequestError } from '../serving/errors.ts';
import type { ChatMessage, TemplateToolCall } from '../tokenizer/tokenizer.ts';
import { fitToolCallId } from './tool-call-ids.ts';

export interface TextPart {
  type: 'text';
  text: string;
}

export type MessageContent = string | TextPart[];

export interface SystemMessage {
  /** "developer" is rendered as "system". */
  role: 'system' | 'developer';
  content: MessageContent;
  name?: string;
}

export interface UserMessage {
  role: 'user';
  content: MessageContent;
  name?: string;
}

export interface RequestToolCall {
  id: string;
  type?: 'function';
  /** `arguments` is JSON text of an object, as OpenAI sends it. */
  function: { name: string; arguments: string };
}

export interface AssistantMessage {
  role: 'assistant';
  /** null (or absent) when the turn only called tools. */
  content?: MessageContent | null;
  tool_calls?: RequestToolCall[];
  /** The turn's reasoning, for templates that show it again (most drop it before the last user turn). */
  reasoning?: string;
  name?: string;
}

export interface ToolMessage {
  role: 'tool';
  tool_call_id: string;
  content: MessageContent;
}

export type ChatRequestMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/**
 * A message cannot be rendered. `field` names it the way the request does, e.g.
 * "messages[3].tool_calls[0].function.arguments". An InvalidRequestError, so hosts answer it as a bad request.
 */
export class ChatMessageError extends InvalidRequestError {
  override name = 'ChatMessageError';
}

export interface TemplateMessageOptions {
  /**
   * Tool call ids must have exactly this many characters (Mistral v0.3's template raises on any other length): ids
   * that are not this many letters and digits are replaced, the same way in a call and in the tool message that
   * answers it, by a stable hash, so the rendered prompt (and its prefix cache) stays the same across requests.
   */
  toolCallIdLength?: number;
}

/** The request's messages as chat templates read them; throws ChatMessageError naming the field that is wrong. */
export function toTemplateMessages(
  messages: readonly ChatRequestMessage[],
  options: TemplateMessageOptions = {},
): ChatMessage[] {
  const fitId = (id: string) => (options.toolCallIdLength ? fitToolCallId(id, options.toolCallIdLength) : id);
  // Tool name of each call id seen so far, so a tool message can carry the name of the tool that answered.
  const toolNames = new Map<string, string>();
  return messages.map((message, i): ChatMessage => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
      case 'user': {
        const out: ChatMessage = {
          role: message.role === 'user' ? 'user' : 'system',
          content: contentText(message.content, at),
        };
        if (message.name !== undefined) out.name = message.name;
        return out;
      }
      case 'assistant': {
        const out: ChatMessage = { role: 'assistant', content: contentText(message.content ?? '', at) };
        if (message.tool_calls && message.tool_calls.length > 0) {
          out.tool_calls = message.tool_calls.map((call, j): TemplateToolCall => {
            toolNames.set(call.id, call.function.name);
            return {
              id: fitId(call.id),
              type: 'function',
              function: {
                name: call.function.name,
                arguments: parseArguments(call.function.arguments, `${at}.tool_calls[${j}].function.arguments`),
              },
            };
          });
        }
        if (message.reasoning !== undefined) out.reasoning_content = message.reasoning;
        if (message.name !== undefined) out.name = message.name;
        return out;
      }
      case 'tool': {
        const out: ChatMessage = {
          role: 'tool',
          content: contentText(message.content, at),
          tool_call_id: fitId(message.tool_call_id),
        };
        const name = toolNames.get(message.tool_call_id);
        if (name !== undefined) out.name = name;
        return out;
      }
      default:
        throw new ChatMessageError(`${at}.role`, `unknown role ${JSON.stringify((message as { role: unknown }).role)}`);
    }
  });
}

function contentText(content: MessageContent, at: string): string {
  if (typeof content === 'string') return content;
  return content
    .map((part, k) => {
      // The types allow text parts only; this guards callers that built messages from unchecked data.
      if (part.type !== 'text' || typeof part.text !== 'string') {
        throw new ChatMessageError(`${at}.content[${k}]`, `only text parts can be rendered, not "${part.type}"`);
      }
      return part.text;
    })
    .join('\n');
}

function parseArguments(text: string, field: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ChatMessageError(field, `is not valid JSON (${reason}): ${preview(text)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new ChatMessageError(field, `must be a JSON object, not ${kind}: ${preview(text)}`);
  }
  return value as Record<string, unknown>;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
