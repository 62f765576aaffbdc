/**
 * TypeBox schemas of the /api chat, preset and model-settings bodies and queries. Sampling uses /v1's field names and
 * bounds, so what is stored can be sent to /v1/chat/completions as it is and a bad value is refused when saved.
 */
import { Type } from 'typebox';
import { opt, samplingFields } from '../v1/schemas/common.ts';

const MAX_TITLE = 200;
const MAX_NAME = 256;
const MAX_PROMPT = 1 << 20;

/** The sampling a conversation or preset keeps (no stream/n/user: those are per request, not settings). */
export const Sampling = Type.Object(
  {
    temperature: samplingFields.temperature,
    top_p: samplingFields.top_p,
    top_k: samplingFields.top_k,
    min_p: samplingFields.min_p,
    presence_penalty: samplingFields.presence_penalty,
    frequency_penalty: samplingFields.frequency_penalty,
    repetition_penalty: samplingFields.repetition_penalty,
    seed: samplingFields.seed,
    stop: samplingFields.stop,
    max_tokens: samplingFields.max_tokens,
    min_tokens: samplingFields.min_tokens,
    logit_bias: samplingFields.logit_bias,
    plas: samplingFields.plas,
  },
  // A misspelt key would be saved and silently do nothing.
  { additionalProperties: false },
);

/** Known fields are typed (null removes one in a PATCH); other keys are kept as given. */
export const Metadata = Type.Object(
  {
    tokens: opt(Type.Integer({ minimum: 0 })),
    ttftMs: opt(Type.Number({ minimum: 0 })),
    tokensPerSecond: opt(Type.Number({ minimum: 0 })),
    plasDensity: opt(Type.Number({ minimum: 0, maximum: 1 })),
    finishReason: opt(Type.String({ maxLength: 64 })),
    model: opt(Type.String({ maxLength: MAX_NAME })),
  },
  { additionalProperties: true, maxProperties: 64 },
);

const Role = Type.Union([
  Type.Literal('user'),
  Type.Literal('assistant'),
  Type.Literal('system'),
  Type.Literal('tool'),
]);
const Title = Type.String({ minLength: 1, maxLength: MAX_TITLE });
const Prompt = Type.Union([Type.String({ maxLength: MAX_PROMPT }), Type.Null()]);
const Model = Type.Union([Type.String({ minLength: 1, maxLength: MAX_NAME }), Type.Null()]);
const Id = Type.String({ minLength: 1, maxLength: 64 });

export const IdParams = Type.Object({ id: Id });

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const ConversationCreate = Type.Object(
  {
    title: Type.Optional(Title),
    model: Type.Optional(Model),
    systemPrompt: Type.Optional(Prompt),
    sampling: Type.Optional(Sampling),
  },
  { additionalProperties: false },
);

export const ConversationPatch = Type.Object(
  {
    title: Type.Optional(Title),
    model: Type.Optional(Model),
    systemPrompt: Type.Optional(Prompt),
    sampling: Type.Optional(Sampling),
    /** Shows the branch through this message (its newest leaf, when it has replies). */
    activeLeafId: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const DeleteQuery = Type.Object({ purge: Type.Optional(Type.Boolean()) });

const AttachmentIn = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 1024 }),
    mime: Type.String({ minLength: 1, maxLength: 255 }),
    content: Type.String(),
    tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const MessageCreate = Type.Object(
  {
    /** null: a new root (an edit of the first prompt). */
    parentId: Type.Union([Id, Type.Null()]),
    role: Role,
    content: Type.Optional(Type.String()),
    reasoning: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    metadata: Type.Optional(Metadata),
    /** false for an answer about to stream (default true). */
    complete: Type.Optional(Type.Boolean()),
    attachments: Type.Optional(Type.Array(AttachmentIn, { maxItems: 64 })),
  },
  { additionalProperties: false },
);

export const MessagePatch = Type.Object(
  {
    append: Type.Optional(Type.String()),
    appendReasoning: Type.Optional(Type.String()),
    metadata: Type.Optional(Metadata),
    complete: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const SearchQuery = Type.Object({
  q: Type.String({ maxLength: 1000 }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});

export const ExportQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('markdown')])),
});

/** The file exportJson writes (chat-transfer.ts); references between its ids are checked by the store. */
export const ExportFile = Type.Object({
  format: Type.Literal('plas-studio.conversation'),
  version: Type.Integer(),
  exportedAt: Type.Optional(Type.Number()),
  conversation: Type.Object({
    id: Type.Optional(Type.String()),
    title: Title,
    model: Model,
    systemPrompt: Prompt,
    sampling: Sampling,
    createdAt: Type.Integer({ minimum: 0 }),
    updatedAt: Type.Optional(Type.Integer({ minimum: 0 })),
    activeLeafId: Type.Union([Id, Type.Null()]),
  }),
  messages: Type.Array(
    Type.Object({
      id: Id,
      parentId: Type.Union([Id, Type.Null()]),
      role: Role,
      content: Type.String(),
      reasoning: Type.Union([Type.String(), Type.Null()]),
      metadata: Metadata,
      createdAt: Type.Integer({ minimum: 0 }),
      complete: Type.Boolean(),
      attachments: Type.Array(
        Type.Object({
          name: AttachmentIn.properties.name,
          mime: AttachmentIn.properties.mime,
          content: Type.String(),
          tokens: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
        }),
      ),
    }),
    { maxItems: 100_000 },
  ),
});

export const PresetCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    systemPrompt: Type.Optional(Prompt),
    sampling: Type.Optional(Sampling),
  },
  { additionalProperties: false },
);

export const PresetPatch = Type.Partial(PresetCreate, { additionalProperties: false });

export const ModelSettingsPut = Type.Object(
  { settings: Type.Record(Type.String({ maxLength: 256 }), Type.Unknown(), { maxProperties: 1024 }) },
  { additionalProperties: false },
);
