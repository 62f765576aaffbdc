/**
 * A real server on 127.0.0.1 (port 0) over SwiftShader for the server tests, a raw HTTP client that can send any Host
 * and Origin header (fetch cannot), and a reader for server-sent events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, type StartOptions, startServer } from '../../../main/server/start.ts';
import { testGpu } from '../../helpers/gpu.ts';

/** Small enough for SwiftShader's host memory, plenty for a tiny model. */
export const TEST_ENGINE = { cache: { memoryBytes: 8 * 2 ** 20 }, scheduler: { maxNumSeqs: 4 } };

export interface TestServer extends RunningServer {
  dataDir: string;
  /** close() and remove the data dir. */
  stop(): Promise<void>;
}

export async function startTestServer(options: Partial<StartOptions> = {}): Promise<TestServer> {
  const gpu = await testGpu();
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'plas-server-')));
  const server = await startServer({ gpu, dataDir, port: 0, engine: TEST_ENGINE, ...options });
  return {
    ...server,
    dataDir,
    async stop() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: a response's JSON, whose shape each test asserts
  json(): any;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One HTTP request to 127.0.0.1:port; `Host` defaults to 127.0.0.1:port, as a browser on that URL would send. */
export function http(port: number, path: string, options: RequestOptions = {}): Promise<Response> {
  const raw =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    ...(raw !== undefined
      ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(raw)) }
      : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }),
      );
    });
    req.on('error', reject);
    if (raw !== undefined) req.write(raw);
    req.end();
  });
}

export interface SseEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: an event's JSON, whose shape each test asserts
  data: any;
}

/**
 * Opens an SSE stream and collects its events; `until` ends the read early (the connection is closed) when it returns
 * true for an event. Resolves with the events and whether the server ended the stream.
 */
export function readSse(
  port: number,
  path: string,
  options: RequestOptions & { until?: (e: SseEvent) => boolean; onOpen?: () => void } = {},
): Promise<{ status: number; events: SseEvent[]; endedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
      },
      (res) => {
        const events: SseEvent[] = [];
        let buffer = '';
        let done = false;
        options.onOpen?.();
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          buffer += chunk;
          let cut = buffer.indexOf('\n\n');
          while (cut >= 0 && !done) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
            const data = /^data: (.*)$/m.exec(block)?.[1];
            const e = { event, data: data === undefined ? undefined : JSON.parse(data) };
            events.push(e);
            if (options.until?.(e)) {
              done = true;
              req.destroy();
              resolve({ status: res.statusCode ?? 0, events, endedByServer: false });
            }
            cut = buffer.indexOf('\n\n');
          }
        });
        res.on('end', () => {
          if (!done) resolve({ status: res.statusCode ?? 0, events, endedByServer: true });
        });
      },
    );
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
