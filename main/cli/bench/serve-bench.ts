/**
 * `plas bench serve`: continuous batching measured end to end through the Engine. For each concurrency level c, c
 * requests of `promptTokens` distinct random tokens arrive at once and each generates `maxTokens` greedy tokens
 * (EOS ignored). Reports output tokens per second over the wall time, and time to first token and time per output
 * token (p50, p99) over the requests.
 */
import { Engine, type EngineEvent } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';

export interface ServeBenchRow {
  concurrency: number;
  promptTokens: number;
  maxTokens: number;
  wallMs: number;
  outputTokens: number;
  outputTokensPerSecond: number;
  ttftMsP50: number;
  ttftMsP99: number;
  tpotMsP50: number;
  tpotMsP99: number;
  steps: number;
  preemptions: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function randomPrompt(n: number, seed: number, vocab: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return 100 + ((s >>> 0) % Math.max(1, Math.min(vocab, 30000) - 100));
  });
}

export async function benchServe(
  gpu: Gpu,
  model: LoadedModel,
  options: { concurrency: number[]; promptTokens: number; maxTokens: number; engine: EngineConfigInput },
  onRow: (row: ServeBenchRow) => void = () => {},
): Promise<ServeBenchRow[]> {
  const rows: ServeBenchRow[] = [];
  let seed = 1;
  for (const c of options.concurrency) {
    const engine = await Engine.create(gpu, model, options.engine);
    try {
      // Warm up pipelines and pools with one short request, outside the measurement.
      for await (const _ of engine.generate({
        promptTokenIds: randomPrompt(8, 999, model.dims.vocab),
        sampling: samplingParams({ maxTokens: 2, ignoreEos: true }),
      })) {
      }
      const stepsBefore = engine.stats().steps;
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: c }, async () => {
          const prompt = randomPrompt(options.promptTokens, seed++, model.dims.vocab);
          const params = samplingParams({ temperature: 0, maxTokens: options.maxTokens, ignoreEos: true });
          let done: Extract<EngineEvent, { type: 'done' }> | undefined;
          for await (const e of engine.generate({ promptTokenIds: prompt, sampling: params }))
            if (e.type === 'done') done = e;
          return done!;
        }),
      );
      const wallMs = performance.now() - started;
      const outputTokens = results.reduce((n, r) => n + r.usage.completionTokens, 0);
      const row: ServeBenchRow = {
        concurrency: c,
        promptTokens: options.promptTokens,
        maxTokens: options.maxTokens,
        wallMs,
        outputTokens,
        outputTokensPerSecond: outputTokens / (wallMs / 1000),
        ttftMsP50: percentile(
          results.map((r) => r.timings.timeToFirstTokenMs),
          50,
        ),
        ttftMsP99: percentile(
          results.map((r) => r.timings.timeToFirstTokenMs),
          99,
        ),
        tpotMsP50: percentile(
          results.map((r) => r.timings.timePerOutputTokenMs),
          50,
        ),
        tpotMsP99: percentile(
          results.map((r) => r.timings.timePerOutputTokenMs),
          99,
        ),
        steps: engine.stats().steps - stepsBefore,
        preemptions: engine.stats().preemptions,
      };
      rows.push(row);
      onRow(row);
    } finally {
      await engine.close();
    }
  }
  return rows;
}

export function serveTableHeader(): string {
  return `${'conc'.padStart(5)} ${'prompt'.padStart(7)} ${'gen'.padStart(5)} ${'out tok/s'.padStart(10)} ${'TTFT p50'.padStart(10)} ${'TTFT p99'.padStart(10)} ${'TPOT p50'.padStart(10)} ${'TPOT p99'.padStart(10)} ${'steps'.padStart(6)} ${'preempt'.padStart(8)}`;
}

export function serveTableRow(r: ServeBenchRow): string {
  const ms = (v: number) => `${v.toFixed(1)}ms`.padStart(10);
  return `${String(r.concurrency).padStart(5)} ${String(r.promptTokens).padStart(7)} ${String(r.maxTokens).padStart(5)} ${r.outputTokensPerSecond.toFixed(2).padStart(10)} ${ms(r.ttftMsP50)} ${ms(r.ttftMsP99)} ${ms(r.tpotMsP50)} ${ms(r.tpotMsP99)} ${String(r.steps).padStart(6)} ${String(r.preemptions).padStart(8)}`;
}
