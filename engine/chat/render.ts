/**
 * A chat request rendered into the prompt text with the model's own chat template, the way transformers'
 * apply_chat_template and vLLM render it: tools in OpenAI's `{type: 'function', function: {...}}` shape (which the
 * templates index into: Mistral's reads `tool.function`, Llama's and Qwen's print the whole object), the
 * conversation converted by toTemplateMessages, and Qwen3's enable_thinking switch as a template variable.
 */

import type { ToolSpec } from '../serving/types.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { detectChatFormat } from './formats.ts';
import { type ChatRequestMessage, toTemplateMessages } from './messages.ts';

export interface RenderChatOptions {
  /** Tools the model may call; none (or an empty list) renders the template's plain chat. */
  tools?: ToolSpec[];
  /** Qwen3's enable_thinking: false asks for no reasoning. Left out, the template's default (thinking) holds. */
  enableThinking?: boolean;
  /** Open the assistant's turn at the end (default true: the model writes the reply next). */
  addGenerationPrompt?: boolean;
  /** More template variables (vLLM's chat_template_kwargs, e.g. date_string); they win over ours. */
  extra?: Record<string, unknown>;
}

/**
 * The prompt text for `messages`. Throws ChatMessageError for a message that cannot be rendered (naming its field),
 * NoChatTemplateError when the model has no template, and ChatTemplateError when the template fails or raises (e.g.
 * Mistral's "conversation roles must alternate", Llama 3.1's "only supports single tool-calls at once").
 */
export function renderChat(
  tokenizer: Tokenizer,
  messages: readonly ChatRequestMessage[],
  options: RenderChatOptions = {},
): string {
  const format = detectChatFormat(tokenizer.chatTemplate);
  const templateMessages = toTemplateMessages(messages, { toolCallIdLength: format.toolCallIdLength });
  // An empty list is no tools: Llama 3.1 tests `tools is not none` and would announce an empty tool list.
  const tools = options.tools && options.tools.length > 0 ? options.tools.map(openAiTool) : undefined;
  const extra: Record<string, unknown> = {};
  if (options.enableThinking !== undefined) extra.enable_thinking = options.enableThinking;
  return tokenizer.applyChatTemplate(templateMessages, {
    addGenerationPrompt: options.addGenerationPrompt ?? true,
    tools,
    extra: { ...extra, ...options.extra },
  });
}

/**
 * OpenAI's tool object. A missing description is left out rather than null: Mistral's template writes every key of
 * the function, and would print "description": null.
 */
function openAiTool(tool: ToolSpec): { type: 'function'; function: Record<string, unknown> } {
  const fn: Record<string, unknown> = { name: tool.name };
  if (tool.description !== undefined) fn.description = tool.description;
  fn.parameters = tool.parameters;
  return { type: 'function', function: fn };
}
