/**
 * The engine's attention settings that change while requests run, and what each request attended: the live PLAS
 * config (ranges, limits, search rule; the block size fixed at load), what a request that does not choose runs, the
 * sampled block statistics, the prefix-cache salt of a request's attention, and the report its done event carries.
 * Kept apart from the step loop (engine.ts), which asks it per request and per step.
 */
import { EngineConfigError } from '../engine-config.ts';
import { type AttentionBackend, mergePlasConfig, type PlasConfig } from '../plas/config.ts';
import { type BlockSummary, PlasStats } from '../plas/stats.ts';
import type { AttentionReport } from './types.ts';

/** What a request asked for: its own PLAS config, the live one ('live'), or dense attention (null). */
export type RequestAttention = PlasConfig | 'live' | null;

export interface LiveAttentionOptions {
  plas: PlasConfig;
  backend: AttentionBackend;
  /** Whether the engine keeps PLAS key sums (PLAS requests are possible at all). */
  allowPlas: boolean;
  /** The KV page size: PLAS blocks are whole pages. */
  pageSize: number;
  numLayers: number;
  /** Which layers use a learned gate, e.g. "mean pooling on all 4 layers". */
  gate: string;
  statsSampleEvery?: number;
  recall?: boolean;
}

export class LiveAttention {
  private plas: PlasConfig;
  /** What a request that does not choose runs: the config's at first, then setDefaultBackend's. */
  private backend: AttentionBackend;
  readonly stats: PlasStats;

  constructor(private readonly o: LiveAttentionOptions) {
    this.plas = o.plas;
    this.backend = o.backend;
    this.stats = new PlasStats({ sampleEvery: o.statsSampleEvery, recall: o.recall });
  }

  get config(): PlasConfig {
    return this.plas;
  }

  /**
   * Change PLAS ranges and limits while requests run: validated as a whole (nothing changes when it throws), in force
   * from the next scheduled step for every request that did not bring its own, no reload. The block size is fixed.
   */
  setConfig(partial: Partial<PlasConfig>): PlasConfig {
    this.plas = mergePlasConfig(this.plas, partial, this.o.pageSize);
    return this.plas;
  }

  get defaultBackend(): AttentionBackend {
    return this.backend;
  }

  /**
   * Switch what requests that do not choose run. PLAS needs an engine created with it allowed (key sums kept):
   * otherwise an EngineConfigError and nothing changes.
   */
  setDefaultBackend(backend: AttentionBackend): AttentionBackend {
    if (backend !== 'dense' && backend !== 'plas') {
      throw new EngineConfigError(`attention.backend (${JSON.stringify(backend)}) must be dense or plas`);
    }
    if (backend === 'plas' && !this.o.allowPlas) {
      throw new EngineConfigError('attention.backend cannot be plas: this engine was created with PLAS off');
    }
    this.backend = backend;
    return backend;
  }

  /** The config a request runs this step (the live one is read once per step: an update applies from the next). */
  configOf(asked: RequestAttention): PlasConfig | null {
    return asked === 'live' ? this.plas : asked;
  }

  /**
   * The prefix-cache salt of a request's attention. Past the first layer, K and V depend on how the layers below
   * attended: pages a PLAS request computed are not the pages dense attention would compute (nor PLAS under other
   * ranges), so they are shared only between requests that attend the same way. Dense requests need no salt; with a
   * single layer K and V depend on the tokens alone and every request may share.
   */
  salt(asked: RequestAttention): string | undefined {
    if (asked === null || this.o.numLayers === 1) return undefined;
    const config = this.configOf(asked)!;
    return `plas:${JSON.stringify(config, Object.keys(config).sort())}`;
  }

  /** What a finished request attended (its statistics are taken: a request is reported once). */
  report(requestId: string, asked: RequestAttention): AttentionReport {
    const s = this.stats.takeRequest(requestId);
    const layers = Array.from({ length: this.o.numLayers }, (_, i) => s.layers.get(i));
    // A dense request attends every block of every layer; a PLAS one shows what its sampled steps attended.
    const perLayer = (pick: (l: BlockSummary) => number | null) =>
      layers.map((l) => (asked === null ? 1 : l ? pick(l) : null));
    return {
      backend: asked ? 'plas' : 'dense',
      prefillDensity: s.prefillDensity ?? 1,
      decodeDensity: s.decodeDensity ?? 1,
      blocksSelected: s.selectedBlocks,
      blocksCandidate: s.candidateBlocks,
      layerDensity: { prefill: perLayer((l) => l.prefillDensity), decode: perLayer((l) => l.decodeDensity) },
      plas: this.configOf(asked) ?? this.plas,
    };
  }

  /** The attention part of Engine.stats(). */
  view() {
    return {
      backend: this.backend,
      plasAvailable: this.o.allowPlas,
      plas: this.plas,
      gate: this.o.gate,
      layers: [...this.stats.layers()],
      requests: [...this.stats.requests()],
    };
  }
}
