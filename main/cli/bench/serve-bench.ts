/**
 * `plas bench serve`: continuous batching measured end to end through the Engine. For each concurrency level c, c
 * requests of `promptTokens` distinct random tokens arrive at once and each generates `maxTokens` greedy tokens
 * (EOS ignored). Reports output tokens per second over the wall time, and time to first token and time per output
 * token (p50, p99) over the requests.
 *
 * Variants run the same load with one feature on, so its cost is a ratio to the plain run on the same machine:
 * 'logprobs' (top 5 alternatives per token) and 'json-schema' (a grammar-constrained object; EOS stays ignored, so
 * once the object is complete the grammar allows only end tokens and the request still runs to max_tokens).
 *
 * With `compareAttention`, every level and variant runs twice on the same prompts, dense and then PLAS (the engine's
 * PLAS settings: the model's recommended ones unless the caller's override them), and `attentionRatios` gives PLAS's
 * time to first token and time per output token over dense's: what sparsity buys at that prompt length.
 */
import { Engine, type EngineEvent, type GenerateRequest } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { AttentionBackend } from '../../../engine/plas/config.ts';

export type ServeVariant = 'plain' | 'logprobs' | 'json-schema';
export const SERVE_VARIANTS: readonly ServeVariant[] = ['plain', 'logprobs', 'json-schema'];

/** A schema that leaves room for long outputs (an open list of records), so constrained decoding runs many steps. */
const BENCH_SCHEMA = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'integer' }, name: { type: 'string' } },
        required: ['id', 'name'],
      },
    },
  },
  required: ['items'],
};

function variantFields(variant: ServeVariant): Partial<GenerateRequest> {
  if (variant === 'logprobs') return { logprobs: { topLogprobs: 5 } };
  if (variant === 'json-schema') return { grammar: { type: 'json_schema', schema: BENCH_SCHEMA } };
  return {};
}

export interface ServeBenchRow {
  variant: ServeVariant;
  attention: AttentionBackend;
  /** Over the PLAS layers and steps of the measured requests (1 when dense). */
  plasDensity: number;
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

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Prompt ids come from [100, 4000): valid in every supported vocabulary (PLAS Mini has 4,096 tokens). */
const PROMPT_ID_RANGE = [100, 4000] as const;

/**
 * The prompt of request `i` at concurrency `c`: distinct random token ids, the same in process and over HTTP
 * (serve-http.ts sends them as token ids), so the two benches compare like with like.
 */
export function benchPrompt(n: number, c: number, i: number): number[] {
  let s = (1 + c * 1000 + i) >>> 0 || 1;
  const [lo, hi] = PROMPT_ID_RANGE;
  return Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return lo + ((s >>> 0) % (hi - lo));
  });
}

export async function benchServe(
  gpu: Gpu,
  model: LoadedModel,
  options: {
    concurrency: number[];
    promptTokens: number;
    maxTokens: number;
    engine: EngineConfigInput;
    variants?: readonly ServeVariant[];
    compareAttention?: boolean;
  },
  onRow: (row: ServeBenchRow) => void = () => {},
): Promise<ServeBenchRow[]> {
  const rows: ServeBenchRow[] = [];
  const backends: AttentionBackend[] = options.compareAttention
    ? ['dense', 'plas']
    : [options.engine.attention?.backend ?? 'dense'];
  for (const c of options.concurrency)
    for (const variant of options.variants ?? ['plain'])
      for (const attention of backends) {
        const input = { ...options.engine, attention: { ...options.engine.attention, backend: attention } };
        rows.push(await measure(gpu, model, input, options, c, variant, attention, onRow));
      }
  return rows;
}

async function measure(
  gpu: Gpu,
  model: LoadedModel,
  input: EngineConfigInput,
  options: { promptTokens: number; maxTokens: number },
  c: number,
  variant: ServeVariant,
  attention: AttentionBackend,
  onRow: (row: ServeBenchRow) => void,
): Promise<ServeBenchRow> {
  const engine = await Engine.create(gpu, model, input);
  try {
    // Warm up pipelines, pools (and the grammar worker) with one short request, outside the measurement.
    for await (const _ of engine.generate({
      promptTokenIds: benchPrompt(8, 0, 0),
      sampling: samplingParams({ maxTokens: 2, ignoreEos: true }),
      ...variantFields(variant),
    })) {
    }
    const stepsBefore = engine.stats().steps;
    const blocksBefore = await attentionBlocks(engine);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: c }, async (_, i) => {
        // Every variant at a level sees the same prompts, so the ratios compare like with like.
        const prompt = benchPrompt(options.promptTokens, c, i);
        const params = samplingParams({ temperature: 0, maxTokens: options.maxTokens, ignoreEos: true });
        let done: Extract<EngineEvent, { type: 'done' }> | undefined;
        for await (const e of engine.generate({
          promptTokenIds: prompt,
          sampling: params,
          ...variantFields(variant),
        }))
          if (e.type === 'done') done = e;
        return done!;
      }),
    );
    const wallMs = performance.now() - started;
    const outputTokens = results.reduce((n, r) => n + r.usage.completionTokens, 0);
    const blocks = await attentionBlocks(engine);
    const candidates = blocks.candidates - blocksBefore.candidates;
    const row: ServeBenchRow = {
      variant,
      attention,
      plasDensity: attention === 'plas' && candidates > 0 ? (blocks.selected - blocksBefore.selected) / candidates : 1,
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
    onRow(row);
    return row;
  } finally {
    await engine.close();
  }
}

/** Blocks the PLAS layers selected and could have, so far (the warm-up request is subtracted). */
async function attentionBlocks(engine: Engine): Promise<{ selected: number; candidates: number }> {
  const stats = await engine.settledStats();
  let selected = 0;
  let candidates = 0;
  for (const [, s] of stats.attention.layers) {
    selected += s.selectedBlocks;
    candidates += s.candidateBlocks;
  }
  return { selected, candidates };
}

export function serveTableHeader(): string {
  return `${'variant'.padEnd(12)}${'attention'.padEnd(10)}${'density'.padStart(8)}${'conc'.padStart(5)} ${'prompt'.padStart(7)} ${'gen'.padStart(5)} ${'out tok/s'.padStart(10)} ${'TTFT p50'.padStart(10)} ${'TTFT p99'.padStart(10)} ${'TPOT p50'.padStart(10)} ${'TPOT p99'.padStart(10)} ${'steps'.padStart(6)} ${'preempt'.padStart(8)}`;
}

export function serveTableRow(r: ServeBenchRow): string {
  const ms = (v: number) => `${v.toFixed(1)}ms`.padStart(10);
  const density = r.attention === 'plas' ? `${(100 * r.plasDensity).toFixed(1)}%` : '-';
  return `${r.variant.padEnd(12)}${r.attention.padEnd(10)}${density.padStart(8)}${String(r.concurrency).padStart(5)} ${String(r.promptTokens).padStart(7)} ${String(r.maxTokens).padStart(5)} ${r.outputTokensPerSecond.toFixed(2).padStart(10)} ${ms(r.ttftMsP50)} ${ms(r.ttftMsP99)} ${ms(r.tpotMsP50)} ${ms(r.tpotMsP99)} ${String(r.steps).padStart(6)} ${String(r.preemptions).padStart(8)}`;
}

export interface VariantRatio {
  variant: ServeVariant;
  concurrency: number;
  /** Time per output token (p50) of the variant over the plain run's: the feature's cost per output token. */
  tpotRatio: number;
  /** Output tokens per second of the plain run over the variant's. */
  throughputRatio: number;
}

/** Each variant's cost as ratios to the plain run at the same concurrency. */
export function variantRatios(rows: readonly ServeBenchRow[]): VariantRatio[] {
  const out: VariantRatio[] = [];
  for (const r of rows) {
    if (r.variant === 'plain') continue;
    const base = rows.find(
      (b) => b.variant === 'plain' && b.concurrency === r.concurrency && b.attention === r.attention,
    );
    if (!base) continue;
    out.push({
      variant: r.variant,
      concurrency: r.concurrency,
      tpotRatio: r.tpotMsP50 / base.tpotMsP50,
      throughputRatio: base.outputTokensPerSecond / r.outputTokensPerSecond,
    });
  }
  return out;
}

export interface AttentionRatio {
  variant: ServeVariant;
  concurrency: number;
  /** PLAS's time to first token (p50) over dense's: below 1, PLAS answers sooner. */
  ttftRatio: number;
  /** PLAS's time per output token (p50) over dense's. */
  tpotRatio: number;
  /** Blocks PLAS attended, over those it could (its prefill and decode steps together). */
  plasDensity: number;
}

/** PLAS against dense at each level and variant, where both ran (`compareAttention`). */
export function attentionRatios(rows: readonly ServeBenchRow[]): AttentionRatio[] {
  const out: AttentionRatio[] = [];
  for (const r of rows) {
    if (r.attention !== 'plas') continue;
    const dense = rows.find(
      (b) => b.attention === 'dense' && b.variant === r.variant && b.concurrency === r.concurrency,
    );
    if (!dense) continue;
    out.push({
      variant: r.variant,
      concurrency: r.concurrency,
      ttftRatio: r.ttftMsP50 / dense.ttftMsP50,
      tpotRatio: r.tpotMsP50 / dense.tpotMsP50,
      plasDensity: r.plasDensity,
    });
  }
  return out;
}
