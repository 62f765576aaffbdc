/**
 * A minimal OpenAI-compatible provider on loopback that answers as vLLM does (its extra fields, its error bodies
 * `{"object":"error","message","type","param","code"}`), for the proxy tests. What it does depends on the model asked:
 *   stub-model     a normal answer (streamed when asked), with vLLM's extras
 *   error-400      vLLM's 400 error body
 *   echo-key       a 401 whose message repeats the Authorization header it got (the proxy must cut the key out)
 *   slow           never answers (headers never come)
 *   stall          streams one chunk, then nothing
 *   gated          streams one chunk, then waits for release() before the rest
 *   slow-stream    a chunk every 50 ms, 200 of them
 *   split-stream   a stream whose events are cut mid-line (and mid-character) across TCP writes 30 ms apart, with a
 *                  comment line and a data line that is not JSON (SPLIT_STREAM_RAW: what it sends, byte for byte)
 * /v1/completions answers text_completion objects (streamed or not), /v1/responses the Responses API's (events
 * response.created, response.output_text.delta, response.completed when streamed); both name the model asked.
 * Every request is recorded (method, path, headers, body, and when its connection closed before it finished).
 * `redirectTo` makes every answer a 307 to that origin instead.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: the JSON a client sent, which each test asserts
  body: any;
  /** Resolves true when the client closed the connection before the answer finished, false when it finished. */
  closedEarly: Promise<boolean>;
}

export interface StubProvider {
  url: string;
  origin: string;
  port: number;
  seen: SeenRequest[];
  /** Lets the `gated` answers go on. */
  release(): void;
  close(): Promise<void>;
}

const CREATED = 1_700_000_000;

function vllmError(res: ServerResponse, status: number, message: string, type: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ object: 'error', message, type, param: null, code: status }));
}

function chunk(model: string, content: string | null, finish: string | null) {
  return {
    id: 'chatcmpl-stub',
    object: 'chat.completion.chunk',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        delta: content === null ? {} : { role: 'assistant', content },
        logprobs: null,
        finish_reason: finish,
        stop_reason: null, // vLLM's
      },
    ],
  };
}

const sse = (res: ServerResponse, data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);

/** The bytes `split-stream` sends, and where it cuts them (between two writes). */
export const SPLIT_STREAM_RAW = [
  `data: ${JSON.stringify(chunk('split-stream', 'Café ☕', null))}\n\n`,
  ': a comment line, "model":"split-stream"\n\n',
  'data: not json, but it says "model":"split-stream"\n\n',
  `data: ${JSON.stringify(chunk('split-stream', null, 'stop'))}\r\n\r\n`,
  'data: [DONE]\n\n',
].join('');
const SPLIT_AT = (() => {
  const bytes = Buffer.from(SPLIT_STREAM_RAW);
  const first = bytes.indexOf(Buffer.from('Caf')) + 3; // inside the JSON line
  const coffee = bytes.indexOf(Buffer.from('☕')) + 1; // inside a three-byte character
  const notJson = bytes.indexOf(Buffer.from('but it')) + 3;
  const stop = bytes.indexOf(Buffer.from('"stop"')) + 2;
  return [first, coffee, notJson, stop];
})();

async function splitStream(res: ServerResponse): Promise<void> {
  const bytes = Buffer.from(SPLIT_STREAM_RAW);
  let from = 0;
  for (const at of [...SPLIT_AT, bytes.length]) {
    res.write(bytes.subarray(from, at));
    from = at;
    await new Promise((r) => setTimeout(r, 30)); // a separate read on the other side
  }
  res.end();
}

function completionsAnswer(res: ServerResponse, model: string, stream: boolean): void {
  const base = { id: 'cmpl-stub', object: 'text_completion', created: CREATED, model };
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        ...base,
        choices: [{ index: 0, text: 'Once upon', logprobs: null, finish_reason: 'length' }],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  sse(res, { ...base, choices: [{ index: 0, text: 'Once', logprobs: null, finish_reason: null }] });
  sse(res, { ...base, choices: [{ index: 0, text: ' upon', logprobs: null, finish_reason: 'length' }] });
  res.end('data: [DONE]\n\n');
}

function responsesAnswer(res: ServerResponse, model: string, stream: boolean): void {
  const response = (status: string, text: string) => ({
    id: 'resp_stub',
    object: 'response',
    created_at: CREATED,
    model,
    status,
    output:
      text === ''
        ? []
        : [{ type: 'message', id: 'msg_stub', role: 'assistant', content: [{ type: 'output_text', text }] }],
    usage: status === 'completed' ? { input_tokens: 4, output_tokens: 2, total_tokens: 6 } : null,
  });
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(response('completed', 'Hi there')));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const event = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event('response.created', { sequence_number: 0, response: response('in_progress', '') });
  event('response.output_text.delta', { sequence_number: 1, item_id: 'msg_stub', delta: 'Hi there' });
  event('response.completed', { sequence_number: 2, response: response('completed', 'Hi there') });
  res.end();
}

export async function startStubProvider(options: { redirectTo?: string } = {}): Promise<StubProvider> {
  const seen: SeenRequest[] = [];
  let releaseGate: () => void = () => {};
  let gate = new Promise<void>((resolve) => {
    releaseGate = resolve;
  });
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', async () => {
      const closedEarly = new Promise<boolean>((resolve) => {
        res.once('close', () => resolve(!res.writableFinished));
      });
      let body: unknown = null;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {}
      const path = (req.url ?? '').split('?')[0];
      seen.push({ method: req.method ?? '', path, headers: req.headers, body, closedEarly });
      if (options.redirectTo) {
        res.writeHead(307, { location: `${options.redirectTo}${req.url}` });
        res.end();
        return;
      }
      if (req.method === 'GET' && path === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            object: 'list',
            data: ['stub-model', 'error-400', 'echo-key'].map((id) => ({
              id,
              object: 'model',
              created: CREATED,
              owned_by: 'vllm',
              root: id,
              parent: null,
              max_model_len: 4096,
              permission: [{ id: 'modelperm-stub', object: 'model_permission', allow_sampling: true }],
            })),
          }),
        );
        return;
      }
      if (req.method === 'POST' && path === '/v1/completions') {
        const b = body as { model?: string; stream?: boolean };
        return completionsAnswer(res, b.model ?? '', b.stream === true);
      }
      if (req.method === 'POST' && path === '/v1/responses') {
        const b = body as { model?: string; stream?: boolean };
        return responsesAnswer(res, b.model ?? '', b.stream === true);
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        vllmError(res, 404, `Not Found: ${path}`, 'NotFoundError');
        return;
      }
      const b = body as { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
      const model = b.model ?? '';
      if (model === 'error-400') {
        return vllmError(res, 400, "This model's maximum context length is 4096 tokens.", 'BadRequestError');
      }
      if (model === 'echo-key') {
        return vllmError(res, 401, `Invalid API key: ${req.headers.authorization ?? 'none'}`, 'AuthenticationError');
      }
      if (model === 'slow') return; // headers never come
      if (!b.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-stub',
            object: 'chat.completion',
            created: CREATED,
            model,
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: 'Hello from the stub.',
                  reasoning_content: null,
                  tool_calls: [],
                },
                logprobs: null,
                finish_reason: 'stop',
                stop_reason: null,
              },
            ],
            usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12, prompt_tokens_details: null },
            prompt_logprobs: null, // vLLM's extras
            kv_transfer_params: null,
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      if (model === 'split-stream') return splitStream(res);
      sse(res, chunk(model, 'Hello', null));
      if (model === 'stall') return;
      if (model === 'gated') await gate;
      const n = model === 'slow-stream' ? 200 : 3;
      for (let i = 0; i < n && !res.destroyed; i++) {
        if (model === 'slow-stream') await new Promise((r) => setTimeout(r, 50));
        sse(res, chunk(model, ` token${i}`, null));
      }
      if (res.destroyed) return;
      sse(res, chunk(model, null, 'stop'));
      if (b.stream_options?.include_usage) {
        sse(res, {
          ...chunk(model, null, null),
          choices: [],
          usage: { prompt_tokens: 7, completion_tokens: n + 1, total_tokens: n + 8 },
        });
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/v1`,
    origin,
    port,
    seen,
    release() {
      releaseGate();
      gate = new Promise<void>((resolve) => {
        releaseGate = resolve;
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        releaseGate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
