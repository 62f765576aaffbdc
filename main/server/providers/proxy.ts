/**
 * Forwards one /v1 request to a provider and passes its answer back as it arrives: each chunk the provider sends is
 * written to the client at once (backpressure pauses the provider's socket, nothing is collected), the client's
 * disconnect destroys the upstream request (the provider sees its connection close), and every failure is an
 * OpenAI-shaped error naming the provider (before the answer started: the error response; after: a last SSE `error`
 * event). Answers name the model the client asked for ("NAME/MODEL", model-rewrite.ts), not the provider's own id:
 * a stream is rewritten line by line as it arrives; a non-streamed answer, one JSON document, is read whole.
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { HttpError } from '../http-error.ts';
import { abortOnDisconnect } from '../v1/disconnect.ts';
import { forwardBody } from './forward-body.ts';
import { KeyBoxError } from './key-box.ts';
import { AppSealedKeyError } from './key-ring.ts';
import { renameModelIn, SseModelRewriter } from './model-rewrite.ts';
import { ProviderFailure, providerHttpError, redact } from './provider-errors.ts';
import { apiRoot } from './provider-input.ts';
import type { ProviderRegistry, ProviderTarget } from './registry.ts';
import { type AnswerSummary, StreamTail, summarizeJson, summarizeStream } from './stream-usage.ts';
import { ClientGoneError, openUpstream, readBody } from './upstream.ts';

/** What the request log gets when a forwarded request ends. */
export interface ForwardOutcome {
  status: number;
  outcome: string;
  summary: AnswerSummary;
  /** ms from the start to the first body chunk (streams only). */
  firstChunkMs: number | null;
  totalMs: number;
}

export interface ForwardRequest {
  registry: ProviderRegistry;
  target: ProviderTarget;
  /** The path under the API root: "/chat/completions", "/completions", "/responses". */
  path: string;
  body: Record<string, unknown>;
  reply: FastifyReply;
  /** Called once, when the request has ended (answered, failed, or the client left). */
  done: (outcome: ForwardOutcome) => void;
}

const NOTE_HEADER = 'x-plas-note';
const ERROR_BODY_LIMIT = 1024 * 1024;

function keyOf(registry: ProviderRegistry, name: string): string | null {
  try {
    return registry.apiKey(name);
  } catch (error) {
    if (error instanceof KeyBoxError) {
      // The app's key out of this server's reach says what to do itself; any other: the key must be entered again.
      const advice = error instanceof AppSealedKeyError ? '' : '; enter its API key again on the Models page';
      throw new HttpError(
        500,
        `Provider "${name}": ${error.message}${advice}`,
        'server_error',
        null,
        'provider_key_unreadable',
      );
    }
    throw error;
  }
}

/**
 * What a failed request says about the provider: refused or broken off, it is down now; a timeout may be one slow
 * request (a long generation), so a health check decides.
 */
function noteFailure(registry: ProviderRegistry, failure: ProviderFailure): void {
  if (failure.kind === 'unreachable') registry.reportUnreachable(failure.provider, failure.message);
  else if (failure.kind === 'timeout') void registry.check(failure.provider).catch(() => {});
}

/**
 * Sends the request and starts the answer. Resolves once the reply is under way (the body keeps flowing after);
 * throws an HttpError (or OpenAIError-shaped) when it fails before the answer starts.
 */
export async function forward(f: ForwardRequest): Promise<void> {
  const { registry, target, reply } = f;
  const { provider } = target;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let reported = false;
  const end = (o: Omit<ForwardOutcome, 'totalMs'>) => {
    if (reported) return;
    reported = true;
    f.done({ ...o, totalMs: elapsed() });
  };
  const none: AnswerSummary = { promptTokens: 0, completionTokens: 0, finishReason: null };
  const fail = (error: HttpError) => {
    end({ status: error.status, outcome: error.code ?? error.type, summary: none, firstChunkMs: null });
    return error;
  };

  if (!provider.enabled) {
    throw fail(
      new ProviderFailure(provider.name, 'disabled', 'is disabled (enable it on the Models page)').toHttpError(),
    );
  }
  const key = keyOf(registry, provider.name);
  const out = forwardBody(f.body, provider, target.model);
  const timeouts = registry.timeouts;
  const client = abortOnDisconnect(reply);
  let res: Awaited<ReturnType<typeof openUpstream>>;
  try {
    res = await openUpstream({
      provider: provider.name,
      url: new URL(`${apiRoot(provider.baseUrl)}${f.path}`),
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: out.stream ? 'text/event-stream' : 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: out.body,
      timeouts,
      signal: client.signal,
    });
  } catch (error) {
    if (error instanceof ClientGoneError) {
      end({ status: 499, outcome: 'abort', summary: none, firstChunkMs: null });
      reply.code(499).send();
      return;
    }
    if (error instanceof ProviderFailure) {
      noteFailure(registry, error);
      throw fail(error.toHttpError());
    }
    throw error;
  }
  registry.reportReachable(provider.name);
  /** A non-streamed answer's first byte: its headers (the body follows at once), for the request log's timings. */
  const answeredMs = elapsed();
  const status = res.statusCode ?? 502;

  if (status < 200 || status >= 300) {
    let text = '';
    try {
      text = (await readBody(res, provider.name, timeouts.idleMs, ERROR_BODY_LIMIT)).toString('utf8');
    } catch {} // the status alone still says what happened
    throw fail(providerHttpError(provider.name, status, text, key));
  }

  reply.header('x-plas-provider', provider.name);
  if (out.note) reply.header(NOTE_HEADER, out.note);

  const clientModel = typeof f.body.model === 'string' ? f.body.model : `${provider.name}/${target.model}`;
  if (!out.stream) {
    // A non-streamed answer is one JSON document: read whole, it gets the client's model id (and our `plas_note`).
    let text: string;
    try {
      text = (await readBody(res, provider.name, timeouts.idleMs)).toString('utf8');
    } catch (error) {
      if (client.signal.aborted) {
        end({ status: 499, outcome: 'abort', summary: none, firstChunkMs: null });
        reply.code(499).send();
        return;
      }
      if (error instanceof ProviderFailure) throw fail(error.toHttpError());
      throw error;
    }
    const summary = summarizeJson(text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      if (out.note) {
        throw fail(providerHttpError(provider.name, 502, `its answer is not JSON: ${text.slice(0, 200)}`, key));
      }
      // Not ours to judge: it goes as it came.
      end({ status, outcome: summary.finishReason ?? 'stop', summary, firstChunkMs: answeredMs });
      reply
        .code(status)
        .header('content-type', res.headers['content-type'] ?? 'application/json')
        .send(text);
      return;
    }
    end({ status, outcome: summary.finishReason ?? 'stop', summary, firstChunkMs: answeredMs });
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      reply.code(status).header('content-type', 'application/json; charset=utf-8').send(text);
      return;
    }
    renameModelIn(json as Record<string, unknown>, clientModel);
    reply.code(status).send(out.note ? { ...json, plas_note: out.note } : json);
    return;
  }
  pump(f, res, status, clientModel, key, started, end, client.signal);
}

/**
 * Passes the provider's stream through line by line as it arrives, each line with the client's model id (a line cut
 * between two reads waits for its end, nothing more); ends the request's record when the stream ends or breaks.
 */
function pump(
  f: ForwardRequest,
  res: Awaited<ReturnType<typeof openUpstream>>,
  status: number,
  clientModel: string,
  key: string | null,
  started: number,
  end: (o: Omit<ForwardOutcome, 'totalMs'>) => void,
  clientGone: AbortSignal,
): void {
  const name = f.target.provider.name;
  const idleMs = f.registry.timeouts.idleMs;
  const body = new PassThrough();
  const tail = new StreamTail();
  let firstChunkMs: number | null = null;
  let finished = false;
  let idle: NodeJS.Timeout | null = null;
  const type = res.headers['content-type'] ?? 'text/event-stream';
  const rewriter = new SseModelRewriter(clientModel);
  /** The end of what was sent: whether the last event is complete. */
  let lastOut = '';
  f.reply
    .code(status)
    .header('content-type', type)
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no');
  f.reply.send(body);

  const summary = () => summarizeStream(tail.text);
  const finish = (failure: ProviderFailure | null) => {
    if (finished) return;
    finished = true;
    if (idle) clearTimeout(idle);
    if (failure === null) {
      const s = summary();
      end({ status, outcome: s.finishReason ?? 'stop', summary: s, firstChunkMs });
      body.end(rewriter.end());
      return;
    }
    res.destroy();
    const error = failure.toHttpError();
    noteFailure(f.registry, failure);
    // The status line is gone: the stream ends with OpenAI's error event (the SDKs raise it). An incomplete last
    // line is dropped: half an event is no use to a client, and would run into the error event.
    // An event already sent in part (its blank line not yet) is closed first, so the error stays an event of its own.
    const close = /\n\r?\n$/.test(lastOut) || lastOut === '' ? '' : '\n';
    if (!body.destroyed) body.write(`${close}data: ${JSON.stringify(error.body())}\n\n`);
    end({ status: 500, outcome: error.code ?? error.type, summary: summary(), firstChunkMs });
    body.end();
  };
  const armIdle = () => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(
      () => finish(new ProviderFailure(name, 'timeout', `its answer stalled for ${Math.round(idleMs / 100) / 10} s`)),
      idleMs,
    );
  };
  armIdle();
  res.on('data', (chunk: Buffer) => {
    if (finished) return;
    armIdle();
    firstChunkMs ??= performance.now() - started;
    tail.add(chunk);
    const text = rewriter.push(chunk);
    if (text === '') return;
    lastOut = (lastOut + text).slice(-4);
    if (!body.write(text)) {
      // A slow client holds the provider's socket, not our memory; the wait is the client's, not a stall upstream.
      res.pause();
      if (idle) clearTimeout(idle);
    }
  });
  body.on('drain', () => {
    if (finished) return;
    armIdle();
    res.resume();
  });
  res.once('end', () => finish(null));
  const leave = () => {
    if (finished) return;
    finished = true;
    if (idle) clearTimeout(idle);
    res.destroy();
    end({ status: 499, outcome: 'abort', summary: summary(), firstChunkMs });
  };
  res.once('close', () => {
    // Our own abort (the client left) closes it too: that is the client's doing, not the provider's.
    if (clientGone.aborted) leave();
    else if (!res.complete) finish(new ProviderFailure(name, 'unreachable', redact('its answer broke off', key)));
  });
  res.once('error', () => {}); // 'close' follows and says it
  // fastify destroys the body when the client goes: the upstream request goes with it.
  body.once('close', leave);
}
