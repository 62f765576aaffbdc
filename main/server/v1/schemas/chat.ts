/**
 * POST /v1/chat/completions body. Messages share one object schema whose role-specific rules (a tool message needs
 * tool_call_id, only assistants carry tool_calls) are checked in chat-messages.ts, so the 400 says "messages[3]:
 * a tool message needs tool_call_id" instead of an anyOf dump.
 */
import { type Static, Type } from 'typebox';
import { opt, samplingFields } from './common.ts';

/** A content part; only `text` parts can be used (chat-messages.ts refuses the others by name). */
export const ContentPart = Type.Object({
  type: Type.String({ maxLength: 64 }),
  text: Type.Optional(Type.String()),
});

export const MessageContent = Type.Union([Type.String(), Type.Array(ContentPart)]);

export const ToolCallIn = Type.Object({
  id: Type.String({ maxLength: 256 }),
  type: Type.Optional(Type.Literal('function')),
  function: Type.Object({ name: Type.String({ maxLength: 256 }), arguments: Type.String() }),
});

export const ChatMessageIn = Type.Object({
  role: Type.Union([
    Type.Literal('system'),
    Type.Literal('developer'),
    Type.Literal('user'),
    Type.Literal('assistant'),
    Type.Literal('tool'),
  ]),
  content: opt(MessageContent),
  name: opt(Type.String({ maxLength: 256 })),
  tool_calls: opt(Type.Array(ToolCallIn)),
  tool_call_id: opt(Type.String({ maxLength: 256 })),
  /** An earlier turn's reasoning, as vLLM and DeepSeek return it (templates may show it again). */
  reasoning_content: opt(Type.String()),
});

/** OpenAI's rule for function names; the tool-call grammar and parsers rely on it too. */
export const FunctionName = Type.String({ pattern: '^[a-zA-Z0-9_.:-]{1,64}$' });

export const ToolIn = Type.Object({
  type: Type.Literal('function'),
  function: Type.Object({
    name: FunctionName,
    description: opt(Type.String()),
    parameters: opt(Type.Record(Type.String(), Type.Unknown())),
    strict: opt(Type.Boolean()),
  }),
});

export const ToolChoiceIn = Type.Union([
  Type.Literal('none'),
  Type.Literal('auto'),
  Type.Literal('required'),
  Type.Object({ type: Type.Literal('function'), function: Type.Object({ name: Type.String({ maxLength: 256 }) }) }),
]);

export const ResponseFormatIn = Type.Union([
  Type.Object({ type: Type.Literal('text') }),
  Type.Object({ type: Type.Literal('json_object') }),
  Type.Object({
    type: Type.Literal('json_schema'),
    json_schema: Type.Object({
      name: Type.String({ maxLength: 256 }),
      description: opt(Type.String()),
      schema: opt(Type.Record(Type.String(), Type.Unknown())),
      strict: opt(Type.Boolean()),
    }),
  }),
]);

export const ChatCompletionBody = Type.Object({
  model: opt(Type.String({ maxLength: 256 })),
  messages: Type.Array(ChatMessageIn, { minItems: 1 }),
  ...samplingFields,
  max_completion_tokens: opt(Type.Integer({ minimum: 1 })),
  logprobs: opt(Type.Boolean()),
  top_logprobs: opt(Type.Integer({ minimum: 0, maximum: 20 })),
  response_format: opt(ResponseFormatIn),
  tools: opt(Type.Array(ToolIn)),
  tool_choice: opt(ToolChoiceIn),
  parallel_tool_calls: opt(Type.Boolean()),
  /** Template variables (vLLM), e.g. {enable_thinking: false} for Qwen3. */
  chat_template_kwargs: opt(Type.Record(Type.String(), Type.Unknown())),
  /** OpenAI's; "none" turns a reasoning model's thinking off (enable_thinking: false). */
  reasoning_effort: opt(Type.String({ maxLength: 32 })),
});

export type ChatCompletionBody = Static<typeof ChatCompletionBody>;
export type ChatMessageIn = Static<typeof ChatMessageIn>;
export type ToolIn = Static<typeof ToolIn>;
export type ToolChoiceIn = Static<typeof ToolChoiceIn>;
export type ResponseFormatIn = Static<typeof ResponseFormatIn>;
