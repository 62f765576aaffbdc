/**
 * `plas bench serve --url URL`: the load of `bench serve` (serve-bench.ts) sent over HTTP to a running server, so the
 * cost of the HTTP layer (routing, JSON, SSE) shows as the ratio to the in-process numbers. For each concurrency c,
 * c streaming /v1/completions requests of `promptTokens` random token ids (the same ids as in process: prompts are
 * sent as token ids, not text) each generate `maxTokens` greedy tokens with EOS ignored. TTFT and TPOT are measured
 * at the client: from sending to the first streamed token, and between tokens after it.
 */

import { benchPrompt, percentile, type ServeBenchRow } from './serve-bench.ts';

/** The in-process row's figures, measured at the client (the server's step counts are not visible from here). */
export type HttpBenchRow = Omit<ServeBenchRow, 'variant' | 'attention' | 'plasDensity' | 'steps' | 'preemptions'>;

export interface HttpBenchOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8188 (a trailing /v1 is accepted). */
  url: string;
  concurrency: number[];
  promptTokens: number;
  maxTokens: number;
  /** Sent as a Bearer token when the server runs with --api-key. */
  apiKey?: string;
  /** Model name; the server's default model when left out. */
  model?: string;
}

interface RequestResult {
  ttftMs: number;
  tpotMs: number;
  tokens: number;
}

export class HttpBenchError extends Error {
  override name = 'HttpBenchError';
}

function endpoint(url: string): string {
  return `${url.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/completions`;
}

/** One streamed completion; resolves with its client-side timings and token count (from the usage chunk). */
async function streamOne(options: HttpBenchOptions, prompt: number[], maxTokens: number): Promise<RequestResult> {
  const started = performance.now();
  const response = await fetch(endpoint(options.url), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    },
    body: JSON.stringify({
      ...(options.model ? { model: options.model } : {}),
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!response.ok || !response.body) {
    throw new HttpBenchError(`${endpoint(options.url)} answered ${response.status}: ${await response.text()}`);
  }
  let first = 0;
  let last = 0;
  let chunks = 0;
  let tokens = 0;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const data = buffer.slice(0, cut).replace(/^data: /, '');
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf('\n\n');
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new HttpBenchError(`the server failed a request: ${chunk.error.message}`);
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
      if (chunk.choices?.[0]?.text) {
        const now = performance.now();
        if (first === 0) first = now;
        last = now;
        chunks++;
      }
    }
  }
  // A chunk carries one decode step's text (occasionally none, when a character is incomplete): TPOT spreads the
  // time after the first token over the tokens after it, as the engine counts it.
  return {
    ttftMs: first ? first - started : 0,
    tpotMs: tokens > 1 && chunks > 1 ? (last - first) / (tokens - 1) : 0,
    tokens,
  };
}

export async function benchServeHttp(
  options: HttpBenchOptions,
  onRow: (row: HttpBenchRow) => void = () => {},
): Promise<HttpBenchRow[]> {
  const rows: HttpBenchRow[] = [];
  // Warm up the server (pipelines, pools, connections) with one short request, outside the measurement.
  await streamOne(options, benchPrompt(8, 0, 0), 2);
  for (const c of options.concurrency) {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: c }, (_, i) =>
        streamOne(options, benchPrompt(options.promptTokens, c, i), options.maxTokens),
      ),
    );
    const wallMs = performance.now() - started;
    const outputTokens = results.reduce((n, r) => n + r.tokens, 0);
    const ttft = results.map((r) => r.ttftMs);
    const tpot = results.map((r) => r.tpotMs);
    const row: HttpBenchRow = {
      concurrency: c,
      promptTokens: options.promptTokens,
      maxTokens: options.maxTokens,
      wallMs,
      outputTokens,
      outputTokensPerSecond: outputTokens / (wallMs / 1000),
      ttftMsP50: percentile(ttft, 50),
      ttftMsP99: percentile(ttft, 99),
      tpotMsP50: percentile(tpot, 50),
      tpotMsP99: percentile(tpot, 99),
    };
    rows.push(row);
    onRow(row);
  }
  return rows;
}

export function httpTableHeader(): string {
  return `${'conc'.padStart(5)} ${'prompt'.padStart(7)} ${'gen'.padStart(5)} ${'out tok/s'.padStart(10)} ${'TTFT p50'.padStart(10)} ${'TTFT p99'.padStart(10)} ${'TPOT p50'.padStart(10)} ${'TPOT p99'.padStart(10)}`;
}

export function httpTableRow(r: HttpBenchRow): string {
  const ms = (v: number) => `${v.toFixed(1)}ms`.padStart(10);
  return `${String(r.concurrency).padStart(5)} ${String(r.promptTokens).padStart(7)} ${String(r.maxTokens).padStart(5)} ${r.outputTokensPerSecond.toFixed(2).padStart(10)} ${ms(r.ttftMsP50)} ${ms(r.ttftMsP99)} ${ms(r.tpotMsP50)} ${ms(r.tpotMsP99)}`;
}
