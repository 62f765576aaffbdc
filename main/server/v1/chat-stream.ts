/**
 * Streamed chat completions: OpenAI's chat.completion.chunk events over SSE, ending with `data: [DONE]`. Each choice
 * opens with the assistant role, then content / reasoning_content / tool_calls deltas, then a chunk with its
 * finish_reason; with stream_options.include_usage a last chunk carries usage (and every other `usage: null`). The
 * `plas` report rides on the final chunk. An error after the header is sent as a `data: {"error": ...}` chunk.
 */
import type { EngineEvent } from '../../../engine/serving/types.ts';
import type { ChoiceDelta, DoneEvent } from './chat-choice.ts';
import { type ChatRun, chatCompletionId } from './chat-completions.ts';
import { abortOnDisconnect } from './disconnect.ts';
import { toOpenAIError } from './error-mapping.ts';
import { FIRST_EVENT_WAIT_MS, startEvents } from './generation.ts';
import type { ChatLogprob } from './logprobs.ts';
import { OpenAIError } from './openai-error.ts';
import { plasReport } from './plas-report.ts';
import { SseWriter } from './sse.ts';
import { countTokens, noteUsage, openAIUsage } from './usage.ts';

function hasDelta(d: ChoiceDelta): boolean {
  return d.content !== undefined || d.reasoning_content !== undefined || d.tool_calls !== undefined;
}

export async function streamChat(run: ChatRun, includeUsage: boolean) {
  const { reply, choices, scope } = run;
  const controller = abortOnDisconnect(reply);
  // Errors at the start (before any token) are still an HTTP status: this throws them.
  const events = await startEvents(run.lease, run.prepared.request, controller.signal, FIRST_EVENT_WAIT_MS);
  const sse = new SseWriter(reply);
  const head = {
    id: chatCompletionId(),
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: run.model,
    ...(includeUsage ? { usage: null } : {}),
  };
  const logprobsOn = run.prepared.request.logprobs !== undefined;
  const chunk = (index: number, delta: object, finish: string | null, logprobs: ChatLogprob[] | null, extra = {}) =>
    sse.send({
      ...head,
      choices: [
        {
          index,
          delta,
          logprobs: logprobsOn && logprobs ? { content: logprobs, refusal: null } : null,
          finish_reason: finish,
          ...(finish !== null ? { stop_reason: choices[index].done?.stoppedBy ?? null } : {}),
        },
      ],
      ...extra,
    });
  const done: DoneEvent[] = [];
  try {
    for (const c of choices) await chunk(c.index, { role: 'assistant', content: '' }, null, null);
    for await (const event of { [Symbol.asyncIterator]: () => events } as AsyncIterable<EngineEvent>) {
      if (!sse.open || controller.signal.aborted) {
        // The client left: nothing more is sent, but the engine ends the request at its next step, and its done
        // events carry the tokens it did generate, which the request log records.
        if (event.type === 'done') done.push(event);
        continue;
      }
      const choice = choices[event.index];
      if (event.type === 'token') {
        const { delta, logprobs } = choice.onToken(event);
        if (hasDelta(delta) || (logprobs && logprobs.length > 0)) await chunk(choice.index, delta, null, logprobs);
        continue;
      }
      const rest = choice.onDone(event);
      done.push(event);
      if (hasDelta(rest)) await chunk(choice.index, rest, null, null);
      const last = done.length === choices.length;
      const plas = last && !includeUsage ? plasReport(done.map((d) => d.attention)) : undefined;
      await chunk(choice.index, {}, choice.finishReason, null, plas ? { plas } : {});
    }
    const counts = countTokens([done]);
    noteUsage(scope, counts, done);
    if (!sse.open || controller.signal.aborted) {
      scope.status = 499;
      scope.outcome = 'abort';
      return reply;
    }
    if (done.length < choices.length || done.some((d) => d.finishReason === 'abort')) {
      throw new OpenAIError(
        503,
        'the model was unloaded while generating; retry',
        'service_unavailable_error',
        null,
        'model_unavailable',
      );
    }
    scope.outcome = choices[0].finishReason;
    if (includeUsage) {
      const plas = plasReport(done.map((d) => d.attention));
      await sse.send({ ...head, choices: [], usage: openAIUsage(counts), ...(plas ? { plas } : {}) });
    }
    await sse.done();
  } catch (error) {
    const mapped = toOpenAIError(error, scope.names);
    scope.status = 500; // the client saw a 200 header, then a failure
    scope.outcome = mapped.code ?? mapped.type;
    await sse.send(mapped.body());
  } finally {
    sse.end();
  }
  return reply;
}
