/**
 * POST /v1/responses: the stateless subset of OpenAI's Responses API that Codex CLI and the Agents SDK use. Input is
 * a string or items (messages, function calls and their outputs); output items are reasoning, message and
 * function_call; streams send the typed events (response.created ... response.completed).
 *
 * Nothing is stored: previous_response_id is refused (400: send the whole conversation as input), and `store: true`
 * is accepted but the response says `store: false`, so a client that relies on stored responses can tell.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { EngineClosedError } from '../../../engine/serving/errors.ts';
import type { EngineEvent } from '../../../engine/serving/types.ts';
import type { ModelLease, ServerContext } from '../context.ts';
import type { DoneEvent } from './chat-choice.ts';
import { type OutputParser, outputParser } from './chat-format.ts';
import { type PreparedChat, prepareChat } from './chat-request.ts';
import { abortOnDisconnect } from './disconnect.ts';
import { toOpenAIError } from './error-mapping.ts';
import { checkQueue, FIRST_EVENT_WAIT_MS, startEvents } from './generation.ts';
import { checkToolChoice, type OutputFormat, type ToolChoice, toolSpecs } from './grammar-mapping.ts';
import type { V1App } from './index.ts';
import { invalidRequest } from './openai-error.ts';
import { plasReport } from './plas-report.ts';
import { mapAttention, mapSampling, parseKeepAlive } from './request-mapping.ts';
import { responsesMessages } from './responses-input.ts';
import { type Emit, ResponseOutput } from './responses-output.ts';
import { inScope, type RouteScope } from './route-scope.ts';
import { ResponsesBody } from './schemas/responses.ts';
import { SseWriter } from './sse.ts';
import { countTokens, noteUsage } from './usage.ts';

const ROUTE = '/v1/responses';
/** Engine fields as this body names them. */
const NAMES = {
  maxTokens: 'max_output_tokens',
  prompt: 'input',
  grammarSchema: 'text.format.schema',
  toolParameters: 'parameters',
};

function toolChoiceOf(choice: ResponsesBody['tool_choice']): ToolChoice | undefined {
  if (choice === null || choice === undefined) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.name };
}

function formatOf(body: ResponsesBody): OutputFormat | undefined {
  const f = body.text?.format;
  if (!f) return undefined;
  if (f.type !== 'json_schema') return f;
  return { type: 'json_schema', schema: f.schema, ...(typeof f.strict === 'boolean' ? { strict: f.strict } : {}) };
}

function functionTools(body: ResponsesBody) {
  return (body.tools ?? []).map((t, i) => {
    if (t.type !== 'function') {
      throw invalidRequest(
        `tools[${i}].type`,
        `tools[${i}].type: only "function" tools are supported, got "${t.type}"`,
      );
    }
    if (!t.name) throw invalidRequest(`tools[${i}].name`, `tools[${i}].name: is required`);
    return { name: t.name, description: t.description ?? undefined, parameters: t.parameters ?? undefined };
  });
}

interface Run {
  lease: ModelLease;
  prepared: PreparedChat;
  parser: OutputParser;
  body: ResponsesBody;
  model: string;
  scope: RouteScope;
  reply: FastifyReply;
}

export function registerResponses(app: V1App, ctx: ServerContext): void {
  app.post(ROUTE, { schema: { body: ResponsesBody } }, (request, reply) =>
    inScope(ctx, request, ROUTE, NAMES, async (scope) => {
      const body = request.body;
      const limits = ctx.settings.limits;
      if (body.previous_response_id) {
        throw invalidRequest(
          'previous_response_id',
          'previous_response_id: this server does not store responses; send the whole conversation as input ' +
            '(and set store: false)',
        );
      }
      const messages = responsesMessages(body);
      const tools = toolSpecs(functionTools(body), limits, 'tools');
      const toolChoice = checkToolChoice(toolChoiceOf(body.tool_choice), tools, 'tool_choice');
      const attention = mapAttention(body.plas);
      const lease = await ctx.models.acquire(body.model ?? undefined, parseKeepAlive(body.keep_alive));
      scope.model = body.model ?? lease.name;
      try {
        checkQueue(lease, limits);
        const sampling = mapSampling(
          { temperature: body.temperature, top_p: body.top_p },
          limits,
          lease.model.config.vocabSize,
        );
        const prepared = prepareChat(
          lease,
          {
            messages,
            tools,
            toolChoice,
            format: formatOf(body),
            enableThinking: body.reasoning?.effort === 'none' ? false : undefined,
            templateVariables: {},
            sampling,
            maxTokens: body.max_output_tokens ?? undefined,
            n: 1,
            topLogprobs: undefined,
            logitBias: undefined,
            attention,
            params: {
              prompt: 'input',
              maxTokens: 'max_output_tokens',
              tools: 'tools',
              toolChoice: 'tool_choice',
              format: 'text.format',
            },
          },
          limits,
        );
        const run: Run = {
          lease,
          prepared,
          parser: outputParser(lease.model, prepared.parser),
          body,
          model: scope.model,
          scope,
          reply,
        };
        return await (body.stream ? streamResponse(run) : respond(run));
      } finally {
        lease.release();
      }
    }),
  );
}

/** The response object, as both the non-streamed answer and the lifecycle events carry it. */
function responseObject(run: Run, id: string, createdAt: number, extra: Record<string, unknown>) {
  const b = run.body;
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model: run.model,
    output: [] as unknown[],
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: b.temperature ?? null,
    text: { format: b.text?.format ?? { type: 'text' } },
    tool_choice: b.tool_choice ?? 'auto',
    tools: b.tools ?? [],
    top_p: b.top_p ?? null,
    truncation: b.truncation ?? 'disabled',
    usage: null as unknown,
    user: b.user ?? null,
    metadata: b.metadata ?? {},
    ...extra,
  };
}

/**
 * Generate and feed the output builder. Returns the done event, or null when the client left. Throws when the engine
 * ended the request without the client leaving (closed under it).
 */
async function generate(run: Run, output: ResponseOutput, peekMs: number, onStarted: () => Promise<void>) {
  const disconnect = abortOnDisconnect(run.reply);
  const events = await startEvents(run.lease, run.prepared.request, disconnect.signal, peekMs);
  await onStarted();
  let done: DoneEvent | null = null;
  for await (const event of { [Symbol.asyncIterator]: () => events } as AsyncIterable<EngineEvent>) {
    if (disconnect.signal.aborted) {
      // Nothing more is sent; the done event (the engine ends the request at its next step) carries the usage.
      if (event.type === 'done') done = event;
      continue;
    }
    if (event.type === 'token') await output.push(run.parser.push(event.text));
    else {
      done = event;
      await output.push(run.parser.finish());
    }
  }
  const counts = countTokens([done ? [done] : []]);
  noteUsage(run.scope, counts, done ? [done] : []);
  if (disconnect.signal.aborted) {
    run.scope.status = 499;
    run.scope.outcome = 'abort';
    return null;
  }
  if (!done || done.finishReason === 'abort') throw new EngineClosedError();
  const incomplete = done.finishReason === 'length';
  await output.finish(incomplete ? 'incomplete' : 'completed');
  run.scope.outcome = output.toolCalls > 0 ? 'tool_calls' : done.finishReason;
  const plas = plasReport([done.attention]);
  return {
    status: incomplete ? 'incomplete' : 'completed',
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output: output.items,
    usage: {
      input_tokens: counts.promptTokens,
      input_tokens_details: { cached_tokens: counts.cachedPromptTokens },
      output_tokens: counts.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: counts.promptTokens + counts.completionTokens,
    },
    ...(plas ? { plas } : {}),
  };
}

function responseId(): string {
  return `resp_${randomBytes(12).toString('hex')}`;
}

async function respond(run: Run) {
  const output = new ResponseOutput(async () => {}, run.body.parallel_tool_calls !== false);
  const result = await generate(run, output, 0, async () => {});
  if (!result) return run.reply.code(499).send();
  return responseObject(run, responseId(), Math.floor(Date.now() / 1000), result);
}

async function streamResponse(run: Run) {
  const id = responseId();
  const createdAt = Math.floor(Date.now() / 1000);
  let sse: SseWriter | null = null;
  let sequence = 0;
  const emit: Emit = async (type, payload) => {
    await sse?.send({ type, sequence_number: sequence++, ...payload }, type);
  };
  const output = new ResponseOutput(emit, run.body.parallel_tool_calls !== false);
  const started = async () => {
    // The header goes out once the request started, so errors at the start are still an HTTP status.
    sse = new SseWriter(run.reply);
    const response = responseObject(run, id, createdAt, {});
    await emit('response.created', { response });
    await emit('response.in_progress', { response });
  };
  try {
    const result = await generate(run, output, FIRST_EVENT_WAIT_MS, started);
    if (!result) return run.reply;
    const type = result.status === 'completed' ? 'response.completed' : 'response.incomplete';
    await emit(type, { response: responseObject(run, id, createdAt, result) });
  } catch (error) {
    if (!sse) throw error;
    const mapped = toOpenAIError(error, run.scope.names);
    run.scope.status = 500; // the client saw a 200 header, then a failure
    run.scope.outcome = mapped.code ?? mapped.type;
    const failure = { code: mapped.code ?? mapped.type, message: mapped.message };
    await emit('response.failed', {
      response: responseObject(run, id, createdAt, { status: 'failed', error: failure, output: output.items }),
    });
  } finally {
    (sse as SseWriter | null)?.end();
  }
  return run.reply;
}
