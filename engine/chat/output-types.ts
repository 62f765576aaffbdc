/** What ChatOutputParser gives: the whole parse, and the deltas of a stream in OpenAI's shape. */

import type { ToolCallFormat } from '../serving/types.ts';

export interface ParsedToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments object. */
  arguments: string;
}

export interface ParsedOutput {
  content: string;
  reasoning: string;
  toolCalls: ParsedToolCall[];
  /** The text of each call that did not parse (it is in `content` too). */
  malformedToolCalls: string[];
}

/** OpenAI's incremental tool call: here always the whole call in one delta. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

export interface OutputDelta {
  content?: string;
  reasoning?: string;
  toolCalls?: ToolCallDelta[];
  malformedToolCalls?: string[];
}

export interface OutputParserOptions {
  /** The tool-call format to recognize; undefined (no tools in the request): no text is a call. */
  toolCalls?: ToolCallFormat;
  /** The model reasons in <think>...</think> (ChatFormat.reasoning). */
  reasoning?: boolean;
  /** The prompt ended inside a think block (promptEndsInReasoning), so the output starts as reasoning. */
  startsInReasoning?: boolean;
  /** Makes the id of each parsed call; default newToolCallId(toolCalls). */
  newId?: () => string;
}
