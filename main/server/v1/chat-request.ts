/**
 * What chat completions and responses share before generating: the model's chat format, tools and tool_choice, the
 * grammar they imply, the prompt rendered with the template, max_tokens against the context, and the engine request.
 */
import type { ChatRequestMessage } from '../../../engine/chat/messages.ts';
import type { SamplingParams } from '../../../engine/generation/sampling-params.ts';
import type { AttentionOverride, GenerateRequest, ToolSpec } from '../../../engine/serving/types.ts';
import type { ModelLease } from '../context.ts';
import { chatFormat, type ParserOptions, renderPrompt } from './chat-format.ts';
import { grammarFor, type OutputFormat, type ToolChoice } from './grammar-mapping.ts';
import { invalidRequest } from './openai-error.ts';
import { type Limits, maxTokensFor } from './request-mapping.ts';

/** The body's names for the fields errors may point at. */
export interface ChatParams {
  prompt: string;
  maxTokens: string;
  tools: string;
  toolChoice: string;
  format: string;
}

export interface ChatInputs {
  messages: ChatRequestMessage[];
  tools: ToolSpec[];
  toolChoice: ToolChoice;
  format: OutputFormat | undefined;
  /** undefined: the template's default. */
  enableThinking: boolean | undefined;
  templateVariables: Record<string, unknown>;
  sampling: Partial<SamplingParams>;
  maxTokens: number | undefined;
  n: number;
  topLogprobs: number | undefined;
  logitBias: ReadonlyMap<number, number> | undefined;
  attention: AttentionOverride | undefined;
  params: ChatParams;
}

export interface PreparedChat {
  request: GenerateRequest;
  parser: ParserOptions;
}

/** Template variables a request may not set: they are the template's inputs, which the server fills. */
const RESERVED_VARIABLES = new Set([
  'messages',
  'tools',
  'add_generation_prompt',
  'documents',
  'bos_token',
  'eos_token',
]);

export function checkTemplateVariables(
  vars: Record<string, unknown> | null | undefined,
  param: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(vars ?? {})) {
    if (RESERVED_VARIABLES.has(key)) throw invalidRequest(`${param}.${key}`, `${param}.${key}: is set by the server`);
    if (key !== 'enable_thinking') out[key] = value;
  }
  return out;
}

export function prepareChat(lease: ModelLease, i: ChatInputs, limits: Limits): PreparedChat {
  const format = chatFormat(lease.model);
  const offerTools = i.tools.length > 0 && i.toolChoice !== 'none';
  if (offerTools && !format.toolCalls) {
    throw invalidRequest(
      i.params.tools,
      `${i.params.tools}: the chat template of '${lease.name}' has no tool-call format this server knows, so its ` +
        `tool calls could not be read; leave tools out (or set ${i.params.toolChoice} to "none")`,
    );
  }
  const grammar = grammarFor({
    format: i.format,
    formatParam: i.params.format,
    tools: i.tools,
    toolChoice: i.toolChoice,
    toolChoiceParam: i.params.toolChoice,
    toolCallFormat: format.toolCalls ?? null,
    limits,
  });
  const prompt = renderPrompt(lease.model, i.messages, {
    ...(offerTools ? { tools: i.tools } : {}),
    ...(i.enableThinking !== undefined ? { enableThinking: i.enableThinking } : {}),
    extra: i.templateVariables,
  });
  const maxTokens = maxTokensFor({
    asked: i.maxTokens,
    param: i.params.maxTokens,
    promptParam: i.params.prompt,
    promptTokens: prompt.ids.length,
    contextLength: lease.contextLength,
    kvTokens: lease.engine.stats().kv.tokensThatFit,
    modelDefault: lease.model.generation?.maxNewTokens,
    limits,
  });
  const request: GenerateRequest = {
    promptTokenIds: prompt.ids,
    sampling: { ...i.sampling, maxTokens },
    n: i.n,
    ...(i.topLogprobs !== undefined ? { logprobs: { topLogprobs: i.topLogprobs } } : {}),
    ...(i.logitBias ? { logitBias: i.logitBias } : {}),
    ...(grammar ? { grammar } : {}),
    ...(i.attention ? { attention: i.attention } : {}),
  };
  return {
    request,
    parser: {
      tools: offerTools,
      reasoning: format.reasoning && i.enableThinking !== false,
      startsInReasoning: prompt.startsInReasoning,
    },
  };
}
