/**
 * The routes' one door to engine/chat: render messages (and tools) with the model's template into prompt ids, tell
 * the model's tool-call format and whether it reasons in <think>, and parse its output as it streams into content,
 * reasoning and tool calls. Routes never render or parse themselves.
 */

import { type ChatFormat, detectChatFormat, promptEndsInReasoning } from '../../../engine/chat/formats.ts';
import type { ChatRequestMessage } from '../../../engine/chat/messages.ts';
import { ChatOutputParser, type OutputDelta } from '../../../engine/chat/output-parser.ts';
import { renderChat } from '../../../engine/chat/render.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { ToolSpec } from '../../../engine/serving/types.ts';

export type { ChatFormat, OutputDelta };

export interface RenderOptions {
  tools?: ToolSpec[];
  /** Qwen3's enable_thinking (undefined: the template's default). */
  enableThinking?: boolean;
  /** More template variables (vLLM's chat_template_kwargs). */
  extra?: Record<string, unknown>;
}

export interface RenderedPrompt {
  ids: number[];
  /** The prompt ends inside an open <think>: the output starts as reasoning. */
  startsInReasoning: boolean;
}

export function renderPrompt(
  model: LoadedModel,
  messages: readonly ChatRequestMessage[],
  options: RenderOptions = {},
): RenderedPrompt {
  const text = renderChat(model.tokenizer, messages, { ...options, addGenerationPrompt: true });
  // The template writes the special tokens itself (BOS included): none added again.
  return {
    ids: model.tokenizer.encode(text, { addSpecialTokens: false }),
    startsInReasoning: promptEndsInReasoning(text),
  };
}

/** Read once per model (a template is a few kB of text to search). */
const formats = new WeakMap<LoadedModel, ChatFormat>();

export function chatFormat(model: LoadedModel): ChatFormat {
  let format = formats.get(model);
  if (!format) {
    format = detectChatFormat(model.tokenizer.chatTemplate, model.config.family);
    formats.set(model, format);
  }
  return format;
}

/** Output text in, pieces out, as it streams; finish() flushes what was held back (a possible marker's start). */
export interface OutputParser {
  push(text: string): OutputDelta;
  finish(): OutputDelta;
}

export interface ParserOptions {
  /** Parse tool calls (tools were offered and tool_choice is not "none"). */
  tools: boolean;
  /** Split reasoning out (the model reasons and thinking was not turned off). */
  reasoning: boolean;
  startsInReasoning: boolean;
}

export function outputParser(model: LoadedModel, options: ParserOptions): OutputParser {
  const format = chatFormat(model);
  return new ChatOutputParser({
    ...(options.tools && format.toolCalls ? { toolCalls: format.toolCalls } : {}),
    reasoning: options.reasoning,
    startsInReasoning: options.startsInReasoning,
  });
}
