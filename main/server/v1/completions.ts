/**
 * POST /v1/completions: plain text completion. The prompt is text or token ids, one or a list (each prompt gets n
 * choices, indexed prompt * n + i); `echo` puts the prompt before the output; logprobs come in the completions
 * shape. `suffix` (fill-in-the-middle) is refused: no supported model has a FIM template here.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { EngineClosedError } from '../../../engine/serving/errors.ts';
import type { EngineEvent, GenerateRequest } from '../../../engine/serving/types.ts';
import type { ModelLease, ServerContext } from '../context.ts';
import type { DoneEvent } from './chat-choice.ts';
import { abortOnDisconnect } from './disconnect.ts';
import { toOpenAIError } from './error-mapping.ts';
import { checkQueue, FIRST_EVENT_WAIT_MS, startEvents } from './generation.ts';
import type { V1App } from './index.ts';
import { type CompletionLogprobs, completionLogprobs } from './logprobs.ts';
import { invalidRequest } from './openai-error.ts';
import { plasReport } from './plas-report.ts';
import { checkN, mapAttention, mapLogitBias, mapSampling, maxTokensFor, parseKeepAlive } from './request-mapping.ts';
import { inScope, type RouteScope } from './route-scope.ts';
import { CompletionBody } from './schemas/completions.ts';
import { SseWriter } from './sse.ts';
import { countTokens, noteUsage, openAIUsage } from './usage.ts';

const ROUTE = '/v1/completions';

type Prompt = string | number[];

function promptList(prompt: CompletionBody['prompt']): Prompt[] {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.every((p) => typeof p === 'number')) return [prompt as number[]];
  return prompt as Prompt[];
}

class CompletionChoice {
  text: string;
  logprobs: CompletionLogprobs | null;
  done: DoneEvent | null = null;

  constructor(
    readonly index: number,
    echo: string,
    logprobs: boolean,
  ) {
    this.text = echo;
    this.logprobs = logprobs ? { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] } : null;
  }

  get finishReason(): 'stop' | 'length' {
    return this.done?.finishReason === 'length' ? 'length' : 'stop';
  }
}

interface Run {
  lease: ModelLease;
  requests: GenerateRequest[];
  choices: CompletionChoice[];
  n: number;
  model: string;
  scope: RouteScope;
  reply: FastifyReply;
}

export function registerCompletions(app: V1App, ctx: ServerContext): void {
  app.post(ROUTE, { schema: { body: CompletionBody } }, (request, reply) =>
    inScope(ctx, request, ROUTE, { maxTokens: 'max_tokens', prompt: 'prompt' }, async (scope) => {
      const body = request.body;
      const limits = ctx.settings.limits;
      if (body.suffix) {
        throw invalidRequest('suffix', 'suffix: fill-in-the-middle is not supported by this server; leave suffix out');
      }
      if (body.echo && body.logprobs != null) {
        throw invalidRequest(
          'echo',
          'echo with logprobs is not supported (the logprobs of prompt tokens are not computed)',
        );
      }
      const prompts = promptList(body.prompt);
      const n = checkN(body.n, limits, prompts.length);
      if (body.best_of != null && body.best_of !== n) {
        throw invalidRequest('best_of', `best_of: only best_of equal to n (${n}) is supported, got ${body.best_of}`);
      }
      const attention = mapAttention(body.plas);
      const lease = await ctx.models.acquire(body.model ?? undefined, parseKeepAlive(body.keep_alive));
      scope.model = body.model ?? lease.name;
      try {
        checkQueue(lease, limits);
        const { tokenizer, config } = lease.model;
        const sampling = mapSampling(body, limits, config.vocabSize);
        const logitBias = mapLogitBias(body.logit_bias, config.vocabSize);
        const kvTokens = lease.engine.stats().kv.tokensThatFit;
        const choices: CompletionChoice[] = [];
        const requests = prompts.map((prompt, p): GenerateRequest => {
          const param = prompts.length > 1 ? `prompt[${p}]` : 'prompt';
          const ids = typeof prompt === 'string' ? tokenizer.encode(prompt) : prompt;
          if (ids.length === 0) throw invalidRequest(param, `${param}: the prompt is empty`);
          const bad = ids.findIndex((id) => id >= config.vocabSize);
          if (bad >= 0) {
            throw invalidRequest(
              `${param}[${bad}]`,
              `${param}[${bad}]: ${ids[bad]} is not a token id (the vocabulary has ${config.vocabSize})`,
            );
          }
          const echo = body.echo ? (typeof prompt === 'string' ? prompt : tokenizer.decode(ids)) : '';
          for (let i = 0; i < n; i++) choices.push(new CompletionChoice(p * n + i, echo, body.logprobs != null));
          const maxTokens = maxTokensFor({
            asked: body.max_tokens ?? undefined,
            param: 'max_tokens',
            promptParam: param,
            promptTokens: ids.length,
            contextLength: lease.contextLength,
            kvTokens,
            modelDefault: lease.model.generation?.maxNewTokens,
            limits,
          });
          return {
            promptTokenIds: ids,
            sampling: { ...sampling, maxTokens },
            n,
            ...(body.logprobs != null ? { logprobs: { topLogprobs: body.logprobs } } : {}),
            ...(logitBias ? { logitBias } : {}),
            ...(attention ? { attention } : {}),
          };
        });
        const run: Run = { lease, requests, choices, n, model: scope.model, scope, reply };
        return await (body.stream
          ? streamCompletions(run, body.stream_options?.include_usage === true)
          : complete(run));
      } finally {
        lease.release();
      }
    }),
  );
}

type Emit = (choice: CompletionChoice, text: string, logprobs: CompletionLogprobs | null) => Promise<void>;

interface Started {
  iterators: AsyncIterator<EngineEvent>[];
  /** Ends every prompt's generation (one failed, or the client left). */
  cancel: AbortController;
  signal: AbortSignal;
}

/** Start every prompt's generation; when one fails at its start, the others are cancelled and the error thrown. */
async function startAll(run: Run, disconnect: AbortSignal, peekMs: number): Promise<Started> {
  const cancel = new AbortController();
  const signal = AbortSignal.any([disconnect, cancel.signal]);
  const started = await Promise.allSettled(run.requests.map((r) => startEvents(run.lease, r, signal, peekMs)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    cancel.abort();
    throw failed.reason;
  }
  const iterators = started.map((s) => (s as PromiseFulfilledResult<AsyncIterator<EngineEvent>>).value);
  return { iterators, cancel, signal };
}

/**
 * Apply every event to its choice, handing text to `emit` and each choice's end to `end`. Returns the done events per
 * prompt; stops early when the signal aborts; one prompt failing cancels the others.
 */
async function pump(
  run: Run,
  s: Started,
  emit: Emit,
  end: (choice: CompletionChoice) => Promise<void>,
): Promise<DoneEvent[][]> {
  const tokenizer = run.lease.model.tokenizer;
  const done: DoneEvent[][] = run.requests.map(() => []);
  try {
    await Promise.all(
      s.iterators.map(async (events, p) => {
        for await (const event of { [Symbol.asyncIterator]: () => events } as AsyncIterable<EngineEvent>) {
          const choice = run.choices[p * run.n + event.index];
          if (s.signal.aborted) {
            // Nothing more is sent; the done events (the engine ends the request at its next step) carry the usage.
            if (event.type === 'done') done[p].push(event);
            continue;
          }
          if (event.type === 'done') {
            choice.done = event;
            done[p].push(event);
            await end(choice);
            continue;
          }
          let lp: CompletionLogprobs | null = null;
          if (choice.logprobs && event.logprobs) {
            lp = completionLogprobs(tokenizer, event.logprobs, choice.text.length);
            for (const key of ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset'] as const) {
              (choice.logprobs[key] as unknown[]).push(...lp[key]);
            }
          }
          choice.text += event.text;
          if (event.text || lp) await emit(choice, event.text, lp);
        }
      }),
    );
  } catch (error) {
    s.cancel.abort();
    throw error;
  }
  return done;
}

/** Usage of the run, on the scope too; throws when the engine closed under a request the client still waits for. */
function settle(run: Run, done: DoneEvent[][], clientLeft: boolean): ReturnType<typeof countTokens> {
  const counts = countTokens(done);
  const all = done.flat();
  noteUsage(run.scope, counts, all);
  if (clientLeft) {
    run.scope.status = 499;
    run.scope.outcome = 'abort';
  } else if (all.length < run.choices.length || all.some((d) => d.finishReason === 'abort')) {
    throw new EngineClosedError();
  } else run.scope.outcome = run.choices[0].finishReason;
  return counts;
}

function completionId(): string {
  return `cmpl-${randomBytes(12).toString('hex')}`;
}

async function complete(run: Run) {
  const disconnect = abortOnDisconnect(run.reply);
  const started = await startAll(run, disconnect.signal, 0);
  const done = await pump(
    run,
    started,
    async () => {},
    async () => {},
  );
  const counts = settle(run, done, disconnect.signal.aborted);
  if (disconnect.signal.aborted) return run.reply.code(499).send();
  const plas = plasReport(done.flat().map((d) => d.attention));
  return {
    id: completionId(),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: run.model,
    choices: run.choices.map((c) => ({
      index: c.index,
      text: c.text,
      logprobs: c.logprobs,
      finish_reason: c.finishReason,
      stop_reason: c.done?.stoppedBy ?? null,
    })),
    usage: openAIUsage(counts),
    ...(plas ? { plas } : {}),
  };
}

async function streamCompletions(run: Run, includeUsage: boolean) {
  const disconnect = abortOnDisconnect(run.reply);
  // Errors at the start (before any token) are still an HTTP status: this throws them.
  const started = await startAll(run, disconnect.signal, FIRST_EVENT_WAIT_MS);
  const sse = new SseWriter(run.reply);
  const head = {
    id: completionId(),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: run.model,
    ...(includeUsage ? { usage: null } : {}),
  };
  const send = (index: number, text: string, logprobs: CompletionLogprobs | null, finish: object, extra: object = {}) =>
    sse.send({ ...head, choices: [{ index, text, logprobs, ...finish }], ...extra });
  const ended: DoneEvent[] = [];
  const plasOf = () => plasReport(ended.map((d) => d.attention));
  try {
    // echo: the prompt's text is the first piece of its choices.
    for (const c of run.choices) if (c.text) await send(c.index, c.text, null, { finish_reason: null });
    const done = await pump(
      run,
      started,
      (choice, text, logprobs) => send(choice.index, text, logprobs, { finish_reason: null }),
      async (choice) => {
        ended.push(choice.done!);
        const plas = ended.length === run.choices.length && !includeUsage ? plasOf() : undefined;
        const finish = { finish_reason: choice.finishReason, stop_reason: choice.done?.stoppedBy ?? null };
        await send(choice.index, '', null, finish, plas ? { plas } : {});
      },
    );
    const counts = settle(run, done, disconnect.signal.aborted || !sse.open);
    if (run.scope.status === 499) return run.reply;
    if (includeUsage) {
      const plas = plasOf();
      await sse.send({ ...head, choices: [], usage: openAIUsage(counts), ...(plas ? { plas } : {}) });
    }
    await sse.done();
  } catch (error) {
    const mapped = toOpenAIError(error, run.scope.names);
    run.scope.status = 500; // the client saw a 200 header, then a failure
    run.scope.outcome = mapped.code ?? mapped.type;
    await sse.send(mapped.body());
  } finally {
    sse.end();
  }
  return run.reply;
}
