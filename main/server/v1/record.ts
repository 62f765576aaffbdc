/**
 * Each /v1 request, once it ends, is counted once: ctx.metrics (route and status, tokens, TTFT and TPOT) and the
 * recent-requests list of /api/requests (numbers only, never text), with what the request attended.
 */
import type { AttentionReport, RequestTimings } from '../../../engine/serving/types.ts';
import type { RequestAttention, ServerContext } from '../context.ts';

export interface Finished {
  route: string;
  model: string;
  /** The status the client saw (500 for a stream that failed after its header). */
  status: number;
  startedAt: number;
  promptTokens: number;
  completionTokens: number;
  /** Timings of every choice that generated (none when the request failed before generating). */
  timings: readonly RequestTimings[];
  /** The finish reason, or the error's code or type when it failed. */
  outcome: string;
  /** The choices' attention reports (none when it failed before generating). */
  attention?: readonly AttentionReport[];
}

/**
 * The request log's attention: the first choice's (choices share the prompt and the ranges). The layers come from
 * the engine's report; a report without them (a scripted engine) gives the overall density on no layer.
 */
function attentionOf(reports: readonly AttentionReport[] | undefined): RequestAttention | undefined {
  const first = reports?.[0];
  if (!first) return undefined;
  return {
    backend: first.backend,
    prefillDensity: first.prefillDensity,
    decodeDensity: first.decodeDensity,
    layerDensity: first.layerDensity ?? { prefill: [], decode: [] },
  };
}

export function recordFinished(ctx: ServerContext, f: Finished): void {
  const started = f.timings.filter((t) => t.timeToFirstTokenMs > 0);
  const ttftMs = started.length > 0 ? Math.min(...started.map((t) => t.timeToFirstTokenMs)) : null;
  const decoding = f.timings.filter((t) => t.timePerOutputTokenMs > 0);
  const tpotMs =
    decoding.length > 0 ? decoding.reduce((s, t) => s + t.timePerOutputTokenMs, 0) / decoding.length : null;
  ctx.metrics.requestFinished(f.route, f.status);
  if (f.promptTokens > 0) ctx.metrics.tokens('prompt', f.promptTokens);
  if (f.completionTokens > 0) ctx.metrics.tokens('generated', f.completionTokens);
  if (ttftMs !== null) ctx.metrics.timeToFirstToken(ttftMs / 1000);
  if (tpotMs !== null) ctx.metrics.timePerOutputToken(tpotMs / 1000);
  ctx.requests.record({
    route: f.route,
    model: f.model,
    status: f.status,
    promptTokens: f.promptTokens,
    completionTokens: f.completionTokens,
    ttftMs,
    tokensPerSecond: tpotMs !== null ? 1000 / tpotMs : null,
    outcome: f.outcome,
    durationMs: performance.now() - f.startedAt,
    attention: attentionOf(f.attention),
  });
}
