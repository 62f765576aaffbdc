/**
 * Prometheus metrics (prom-client, text format at GET /metrics). Counters and histograms are fed by the routes
 * (ServerMetrics) and by the app's response hook; the engine's state (queue, KV pages, prefix cache, PLAS density per
 * layer, load time) is read from `engine.stats()` at scrape time, so there is nothing to keep in sync. Each server has
 * its own registry (tests run several in one process).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineStats } from '../../engine/engine.ts';
import type { ServerMetrics } from './context.ts';

/** What the scrape reads from the loaded model; null when none is loaded. */
export type EngineProbe = () => { model: string; stats: EngineStats; loadSeconds: number } | null;

// Latency buckets as vLLM's: TTFT up to minutes (long prompts on small GPUs), TPOT from 10 ms.
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160];
const TPOT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5];

export class Metrics implements ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status'>;
  private readonly promptTokens: Counter;
  private readonly generatedTokens: Counter;
  private readonly ttft: Histogram;
  private readonly tpot: Histogram;

  constructor(probe: EngineProbe) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'plas_requests_total',
      help: 'HTTP requests by route pattern and status',
      labelNames: ['route', 'status'],
      registers,
    });
    this.promptTokens = new Counter({ name: 'plas_prompt_tokens_total', help: 'Prompt tokens processed', registers });
    this.generatedTokens = new Counter({
      name: 'plas_generation_tokens_total',
      help: 'Tokens generated',
      registers,
    });
    this.ttft = new Histogram({
      name: 'plas_time_to_first_token_seconds',
      help: 'Time from arrival to the first generated token',
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.tpot = new Histogram({
      name: 'plas_time_per_output_token_seconds',
      help: 'Mean time between output tokens after the first, per request',
      buckets: TPOT_BUCKETS,
      registers,
    });
    this.engineGauges(probe, registers);
  }

  /** Gauges whose value is whatever the loaded engine reports at scrape time (0 / no series when none is loaded). */
  private engineGauges(probe: EngineProbe, registers: Registry[]): void {
    const gauge = (name: string, help: string, read: (p: NonNullable<ReturnType<EngineProbe>>) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const p = probe();
          this.set(p ? read(p) : 0);
        },
      });
    gauge('plas_num_requests_waiting', 'Requests queued, not yet scheduled', (p) => p.stats.waiting);
    gauge('plas_num_requests_running', 'Requests holding KV pages and scheduled each step', (p) => p.stats.running);
    gauge('plas_kv_cache_pages_used', 'KV cache pages in use', (p) => p.stats.kv.numPages - p.stats.kv.freePages);
    gauge('plas_kv_cache_pages_free', 'KV cache pages free', (p) => p.stats.kv.freePages);
    gauge(
      'plas_prefix_cache_hit_tokens',
      'Prompt tokens found in the prefix cache since the model loaded',
      (p) => p.stats.prefixCache.hitTokens,
    );
    gauge(
      'plas_prefix_cache_queried_tokens',
      'Prompt tokens looked up in the prefix cache since the model loaded',
      (p) => p.stats.prefixCache.queriedTokens,
    );
    new Gauge({
      name: 'plas_attention_density',
      help: 'Share of candidate KV blocks PLAS attended, per layer, over sampled steps (1 = dense)',
      labelNames: ['layer'],
      registers,
      collect() {
        // Reset first: the layers of a model unloaded since the last scrape must not linger.
        this.reset();
        for (const [layer, summary] of probe()?.stats.attention.layers ?? []) {
          this.set({ layer: String(layer) }, summary.density);
        }
      },
    });
    new Gauge({
      name: 'plas_model_load_seconds',
      help: 'How long the loaded model took to load (weights to the GPU, engine created)',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        const p = probe();
        if (p) this.set({ model: p.model }, p.loadSeconds);
      },
    });
  }

  requestFinished(route: string, status: number): void {
    this.requests.inc({ route, status: String(status) });
  }

  tokens(kind: 'prompt' | 'generated', n: number): void {
    if (n > 0) (kind === 'prompt' ? this.promptTokens : this.generatedTokens).inc(n);
  }

  timeToFirstToken(seconds: number): void {
    this.ttft.observe(seconds);
  }

  timePerOutputToken(seconds: number): void {
    this.tpot.observe(seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
