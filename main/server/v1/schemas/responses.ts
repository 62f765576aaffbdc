/**
 * POST /v1/responses body: the stateless subset that Codex CLI and the Agents SDK use. Input items are one object
 * schema with a `type`; item-specific rules are checked in responses-input.ts so the 400 names the item.
 */
import { type Static, Type } from 'typebox';
import { FunctionName } from './chat.ts';
import { KeepAliveField, opt, PlasExtension } from './common.ts';

export const InputContentPart = Type.Object({
  type: Type.String({ maxLength: 64 }),
  text: Type.Optional(Type.String()),
});

export const InputItem = Type.Object({
  /** "message" when left out and a role is given. */
  type: Type.Optional(Type.String({ maxLength: 64 })),
  id: opt(Type.String({ maxLength: 256 })),
  role: Type.Optional(Type.String({ maxLength: 32 })),
  content: opt(Type.Union([Type.String(), Type.Array(InputContentPart)])),
  // function_call
  call_id: Type.Optional(Type.String({ maxLength: 256 })),
  name: Type.Optional(Type.String({ maxLength: 256 })),
  arguments: Type.Optional(Type.String()),
  // function_call_output
  output: Type.Optional(Type.Union([Type.String(), Type.Array(InputContentPart)])),
  // reasoning (sent back by Codex; its text is shown to the template as the turn's reasoning)
  summary: Type.Optional(Type.Array(InputContentPart)),
});

export const FunctionToolIn = Type.Object({
  type: Type.String({ maxLength: 64 }),
  name: Type.Optional(FunctionName),
  description: opt(Type.String()),
  parameters: opt(Type.Record(Type.String(), Type.Unknown())),
  strict: opt(Type.Boolean()),
});

export const ResponsesToolChoice = Type.Union([
  Type.Literal('none'),
  Type.Literal('auto'),
  Type.Literal('required'),
  Type.Object({ type: Type.Literal('function'), name: Type.String({ maxLength: 256 }) }),
]);

export const TextFormatIn = Type.Union([
  Type.Object({ type: Type.Literal('text') }),
  Type.Object({ type: Type.Literal('json_object') }),
  Type.Object({
    type: Type.Literal('json_schema'),
    name: Type.String({ maxLength: 256 }),
    description: opt(Type.String()),
    schema: Type.Record(Type.String(), Type.Unknown()),
    strict: opt(Type.Boolean()),
  }),
]);

export const ResponsesBody = Type.Object({
  model: opt(Type.String({ maxLength: 256 })),
  input: Type.Union([Type.String(), Type.Array(InputItem)]),
  instructions: opt(Type.String()),
  tools: opt(Type.Array(FunctionToolIn)),
  tool_choice: opt(ResponsesToolChoice),
  parallel_tool_calls: opt(Type.Boolean()),
  max_output_tokens: opt(Type.Integer({ minimum: 1 })),
  temperature: opt(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: opt(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  stream: opt(Type.Boolean()),
  /** Refused: responses are not stored, so there is nothing to continue from. */
  previous_response_id: opt(Type.String()),
  /** Accepted, never honoured: nothing is stored (the response says store: false). */
  store: opt(Type.Boolean()),
  text: opt(Type.Object({ format: opt(TextFormatIn) })),
  reasoning: opt(Type.Object({ effort: opt(Type.String({ maxLength: 32 })), summary: opt(Type.String()) })),
  metadata: opt(Type.Record(Type.String(), Type.String())),
  truncation: opt(Type.Union([Type.Literal('auto'), Type.Literal('disabled')])),
  include: opt(Type.Array(Type.String())),
  user: opt(Type.String({ maxLength: 1024 })),
  keep_alive: opt(KeepAliveField),
  plas: opt(PlasExtension),
});

export type ResponsesBody = Static<typeof ResponsesBody>;
export type InputItem = Static<typeof InputItem>;
export type FunctionToolIn = Static<typeof FunctionToolIn>;
export type ResponsesToolChoice = Static<typeof ResponsesToolChoice>;
