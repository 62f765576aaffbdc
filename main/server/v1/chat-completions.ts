/**
 * POST /v1/chat/completions: OpenAI's chat API on a local model, with vLLM's extras (reasoning_content, min_tokens,
 * ignore_eos, stop_token_ids, chat_template_kwargs...) and the `plas` extension. Streams with chat-stream.ts.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { EngineClosedError } from '../../../engine/serving/errors.ts';
import type { EngineEvent } from '../../../engine/serving/types.ts';
import type { ModelLease, ServerContext } from '../context.ts';
import { ChatChoice, type DoneEvent } from './chat-choice.ts';
import { outputParser } from './chat-format.ts';
import { chatMessages } from './chat-messages.ts';
import { checkTemplateVariables, type PreparedChat, prepareChat } from './chat-request.ts';
import { streamChat } from './chat-stream.ts';
import { abortOnDisconnect } from './disconnect.ts';
import { checkQueue, startEvents } from './generation.ts';
import { checkToolChoice, type OutputFormat, type ToolChoice, toolSpecs } from './grammar-mapping.ts';
import type { V1App } from './index.ts';
import { invalidRequest } from './openai-error.ts';
import { plasReport } from './plas-report.ts';
import { checkN, mapAttention, mapLogitBias, mapSampling, parseKeepAlive } from './request-mapping.ts';
import { inScope, type RouteScope } from './route-scope.ts';
import { ChatCompletionBody, type ResponseFormatIn, type ToolChoiceIn } from './schemas/chat.ts';
import { countTokens, noteUsage, openAIUsage } from './usage.ts';

const ROUTE = '/v1/chat/completions';

export function chatCompletionId(): string {
  return `chatcmpl-${randomBytes(12).toString('hex')}`;
}

function toolChoiceOf(choice: ToolChoiceIn | null | undefined): ToolChoice | undefined {
  if (choice === null || choice === undefined) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

function formatOf(format: ResponseFormatIn | null | undefined): OutputFormat | undefined {
  if (!format) return undefined;
  if (format.type !== 'json_schema') return format;
  const { schema, strict } = format.json_schema;
  return { type: 'json_schema', schema: schema ?? {}, ...(typeof strict === 'boolean' ? { strict } : {}) };
}

/** Thinking on or off: chat_template_kwargs.enable_thinking (vLLM), or reasoning_effort "none" (OpenAI). */
function thinkingOf(body: ChatCompletionBody): boolean | undefined {
  const asked = body.chat_template_kwargs?.enable_thinking;
  if (asked !== undefined && typeof asked !== 'boolean') {
    throw invalidRequest(
      'chat_template_kwargs.enable_thinking',
      'chat_template_kwargs.enable_thinking: must be a boolean',
    );
  }
  if (asked !== undefined) return asked;
  return body.reasoning_effort === 'none' ? false : undefined;
}

export function registerChatCompletions(app: V1App, ctx: ServerContext): void {
  app.post(ROUTE, { schema: { body: ChatCompletionBody } }, (request, reply) =>
    inScope(ctx, request, ROUTE, { maxTokens: 'max_tokens', prompt: 'messages' }, async (scope) => {
      const body = request.body;
      const limits = ctx.settings.limits;
      // Everything that needs no model is checked before one is loaded.
      const messages = chatMessages(body.messages);
      const n = checkN(body.n, limits);
      const tools = toolSpecs(
        (body.tools ?? []).map((t) => t.function),
        limits,
        'tools',
      );
      const toolChoice = checkToolChoice(toolChoiceOf(body.tool_choice), tools, 'tool_choice');
      const templateVariables = checkTemplateVariables(body.chat_template_kwargs, 'chat_template_kwargs');
      const enableThinking = thinkingOf(body);
      if (body.top_logprobs && !body.logprobs) {
        throw invalidRequest('top_logprobs', 'top_logprobs: needs logprobs: true');
      }
      const attention = mapAttention(body.plas);
      const keepAlive = parseKeepAlive(body.keep_alive);
      const maxTokensParam = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';

      const lease = await ctx.models.acquire(body.model ?? undefined, keepAlive);
      scope.model = body.model ?? lease.name;
      try {
        checkQueue(lease, limits);
        const vocab = lease.model.config.vocabSize;
        const prepared = prepareChat(
          lease,
          {
            messages,
            tools,
            toolChoice,
            format: formatOf(body.response_format),
            enableThinking,
            templateVariables,
            sampling: mapSampling(body, limits, vocab),
            maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
            n,
            topLogprobs: body.logprobs ? (body.top_logprobs ?? 0) : undefined,
            logitBias: mapLogitBias(body.logit_bias, vocab),
            attention,
            params: {
              prompt: 'messages',
              maxTokens: maxTokensParam,
              tools: 'tools',
              toolChoice: 'tool_choice',
              format: 'response_format.json_schema',
            },
          },
          limits,
        );
        const choices = Array.from(
          { length: n },
          (_, i) =>
            new ChatChoice(
              i,
              outputParser(lease.model, prepared.parser),
              lease.model.tokenizer,
              body.parallel_tool_calls !== false,
            ),
        );
        const run: ChatRun = { lease, prepared, choices, model: scope.model, scope, reply };
        if (body.stream) return await streamChat(run, body.stream_options?.include_usage === true);
        return await completeChat(run);
      } finally {
        lease.release();
      }
    }),
  );
}

export interface ChatRun {
  lease: ModelLease;
  prepared: PreparedChat;
  choices: ChatChoice[];
  /** The model name the response reports (the one asked for). */
  model: string;
  scope: RouteScope;
  reply: FastifyReply;
}

async function completeChat(run: ChatRun) {
  const { reply, choices } = run;
  const controller = abortOnDisconnect(reply);
  const done: DoneEvent[] = [];
  const events = await startEvents(run.lease, run.prepared.request, controller.signal);
  for await (const event of { [Symbol.asyncIterator]: () => events } as AsyncIterable<EngineEvent>) {
    if (controller.signal.aborted) break;
    const choice = choices[event.index];
    if (event.type === 'token') choice.onToken(event);
    else {
      choice.onDone(event);
      done.push(event);
    }
  }
  const counts = countTokens([done]);
  noteUsage(run.scope, counts, done);
  if (controller.signal.aborted) {
    // The client is gone: nothing to answer (499, nginx's "client closed request", for the log).
    run.scope.status = 499;
    run.scope.outcome = 'abort';
    return reply.code(499).send();
  }
  // Ended without the client leaving: the engine closed under it (model unloaded or reloaded).
  if (done.length < choices.length || done.some((d) => d.finishReason === 'abort')) throw new EngineClosedError();
  run.scope.outcome = choices[0].finishReason;
  const plas = plasReport(done.map((d) => d.attention));
  return {
    id: chatCompletionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: run.model,
    choices: choices.map((c) => ({
      index: c.index,
      message: c.message(),
      logprobs: run.prepared.request.logprobs ? { content: c.logprobs, refusal: null } : null,
      finish_reason: c.finishReason,
      // vLLM's: the stop string or token id that ended it (null for EOS or length).
      stop_reason: c.done?.stoppedBy ?? null,
    })),
    usage: openAIUsage(counts),
    ...(plas ? { plas } : {}),
  };
}
