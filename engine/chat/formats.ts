/**
 * How a model family writes tool calls and reasoning, read off its chat template. The marker strings here are the
 * ones the output parser looks for and the tool-call grammar must make the model write; each was checked against
 * the family's real template (the way it renders an earlier assistant turn's calls is what the model was taught):
 * - hermes (Qwen2.5, Qwen3, Hermes): `<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>`, one block per
 *   call, blocks separated by "\n".
 * - llama3 (Llama 3.1/3.2/3.3 Instruct): `{"name": "f", "parameters": {...}}` as the whole reply, optionally after
 *   `<|python_tag|>`; vLLM's llama3_json parser also takes several calls separated by "; ".
 * - mistral (Mistral 7B Instruct v0.3 and the v3 tokenizer): `[TOOL_CALLS] [{"name": "f", "arguments": {...}}, ...]`
 *   (the history adds `, "id": "<9 letters and digits>"` to each call; the model does not write ids).
 * Reasoning (Qwen3, QwQ, DeepSeek-R1 and its distills): `<think>\n...\n</think>\n\n` before the answer. Qwen3 with
 * enable_thinking false ends the prompt with an empty block; DeepSeek-R1's and newer Qwen3 templates end the prompt
 * with `<think>\n`, so the output starts inside the block: see promptEndsInReasoning.
 */

import type { ToolCallFormat } from '../serving/types.ts';

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';

export const HERMES_CALL_OPEN = '<tool_call>';
export const HERMES_CALL_CLOSE = '</tool_call>';
/** Llama 3.1's special token before a call in "ipython" mode; optional before a JSON call. */
export const LLAMA3_PYTHON_TAG = '<|python_tag|>';
/** A control token in Mistral's v3 vocabulary (id 5); the engine must not drop it when detokenizing. */
export const MISTRAL_TOOL_CALLS = '[TOOL_CALLS]';

/**
 * The exact text of one or more calls: `start`, then each call as `callOpen` + body + `callClose` with `separator`
 * between calls, then `end`. A body is `{"name": <name as JSON>, "<argumentsKey>": <arguments object as JSON>}`.
 */
export interface ToolCallSyntax {
  start: string;
  callOpen: string;
  callClose: string;
  separator: string;
  end: string;
  argumentsKey: 'arguments' | 'parameters';
}

export const TOOL_CALL_SYNTAX: Readonly<Record<ToolCallFormat, Readonly<ToolCallSyntax>>> = {
  hermes: {
    start: '',
    callOpen: `${HERMES_CALL_OPEN}\n`,
    callClose: `\n${HERMES_CALL_CLOSE}`,
    separator: '\n',
    end: '',
    argumentsKey: 'arguments',
  },
  llama3: { start: '', callOpen: '', callClose: '', separator: '; ', end: '', argumentsKey: 'parameters' },
  mistral: {
    start: `${MISTRAL_TOOL_CALLS} [`,
    callOpen: '',
    callClose: '',
    separator: ', ',
    end: ']',
    argumentsKey: 'arguments',
  },
};

/** Calls written as `format`'s model writes them; `arguments` is the JSON text of an object. */
export function writeToolCalls(format: ToolCallFormat, calls: readonly { name: string; arguments: string }[]): string {
  const s = TOOL_CALL_SYNTAX[format];
  const bodies = calls.map(
    (call) =>
      `${s.callOpen}{"name": ${JSON.stringify(call.name)}, "${s.argumentsKey}": ${call.arguments}}${s.callClose}`,
  );
  return s.start + bodies.join(s.separator) + s.end;
}

export interface ChatFormat {
  /** How the model writes tool calls; undefined when its template shows no tool calls we know. */
  toolCalls?: ToolCallFormat;
  /** The model reasons in <think>...</think> before answering. */
  reasoning: boolean;
  /** Tool call ids in the history must have this many characters (Mistral: 9), else the template raises. */
  toolCallIdLength?: number;
}

/**
 * The format of a model, from its chat template, and from its config's model_type where the template names no
 * tool-call format: Qwen models are trained on hermes calls even when a fine-tune's template leaves tools out.
 */
export function detectChatFormat(template: string | undefined, modelType?: string): ChatFormat {
  const text = template ?? '';
  const format: ChatFormat = { reasoning: text.includes(THINK_CLOSE) };
  if (text.includes(MISTRAL_TOOL_CALLS)) format.toolCalls = 'mistral';
  else if (text.includes(HERMES_CALL_OPEN)) format.toolCalls = 'hermes';
  else if (text.includes(LLAMA3_PYTHON_TAG) || (text.includes('<|start_header_id|>') && text.includes('"parameters"')))
    format.toolCalls = 'llama3';
  else if (modelType !== undefined && /^qwen\d/.test(modelType)) format.toolCalls = 'hermes';
  // Mistral v0.3: `{%- if not tool_call.id is defined or tool_call.id|length != 9 %}`.
  const idLength = /\.id\s*\|\s*length\s*!=\s*(\d+)/.exec(text);
  if (idLength) format.toolCallIdLength = Number(idLength[1]);
  return format;
}

/** The rendered prompt ends inside an open think block, so the model's output starts as reasoning. */
export function promptEndsInReasoning(prompt: string): boolean {
  return /<think>[ \t\r\n]*$/.test(prompt);
}
