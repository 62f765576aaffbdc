/** What Engine.stats() reports: the scheduler, the KV pool, the prefix cache, and attention (live-attention.ts). */
import type { KvDType } from '../kv/paged-layout.ts';
import type { LoadedModel } from '../model/load-model.ts';
import type { PlasConfig } from '../plas/config.ts';
import type { BlockSummary } from '../plas/stats.ts';

export interface EngineStats {
  running: number;
  waiting: number;
  /** Requests held because their reader is slow (they keep their pages). */
  held: number;
  steps: number;
  preemptions: number;
  /** Tokens computed by forward passes (prompt and output; prefix-cache hits are not computed). */
  computedTokens: number;
  kv: {
    numPages: number;
    pageSize: number;
    freePages: number;
    usage: number;
    tokensThatFit: number;
    /** Element type of K and V (cache.dtype): f16 holds twice the tokens of f32 in the same bytes. */
    dtype: KvDType;
    /** GPU bytes of the pool, and how many buffers (one K and one V per layer) it is sharded into. */
    bytes: number;
    buffers: number;
    /** GPU bytes of the PLAS key sums (0 when the engine was created without PLAS). */
    keySumBytes: number;
  };
  prefixCache: { queriedTokens: number; hitTokens: number };
  generatedTokens: number;
  /** The model's sampling defaults (generation_config.json) applied to fields a request leaves out. */
  samplingDefaults: LoadedModel['generation'];
  attention: {
    /** What a request that does not choose runs. */
    backend: 'plas' | 'dense';
    /** Whether requests may run PLAS (key sums kept). */
    plasAvailable: boolean;
    /** The live PLAS config (also when dense, so the app can show what switching would use). */
    plas: PlasConfig;
    /** Which layers use a learned gate, e.g. "mean pooling on every layer". */
    gate: string;
    /** Sampled per-layer block counts and density; per running request too (a finished one's is in its done event). */
    layers: [number, BlockSummary][];
    requests: [string, BlockSummary][];
  };
}
