/**
 * The engine's configuration: sub-configs for the KV cache and the scheduler, validated once, with errors that print
 * the offending values.
 */
import { type AttentionBackend, defaultPlasConfig, mergePlasConfig, type PlasConfig } from './plas/config.ts';
import { type SchedulerConfig, validateSchedulerConfig } from './scheduler/config.ts';

export interface CacheConfig {
  /** Tokens per KV page; a power of two (default 64). */
  pageSize: number;
  /** Bytes the KV pool may use; default: a quarter of the adapter's max buffer size per layer pair, capped at 1 GiB. */
  memoryBytes?: number;
  /** Exact page count (overrides memoryBytes; tests use it to force preemption). */
  numPages?: number;
  enablePrefixCaching: boolean;
}

export interface AttentionConfig {
  backend: AttentionBackend;
  /** In force when backend is 'plas'; live-tunable with Engine.setPlasConfig. */
  plas: PlasConfig;
  /** PLAS statistics (blocks, density, recall) are gathered on one step in this many (default 16; 1 = every step). */
  statsSampleEvery: number;
  /**
   * The compressed keys PLAS scores blocks with: 'learned' uses the folder's plas_attention_mlp_weight.safetensors
   * when it has one (mean pooling otherwise), 'mean' always pools by the mean (to compare against the gate).
   */
  gate: GateMode;
}

export type GateMode = 'learned' | 'mean';

export interface EngineConfig {
  cache: CacheConfig;
  scheduler: SchedulerConfig;
  attention: AttentionConfig;
}

export interface EngineConfigInput {
  cache?: Partial<CacheConfig>;
  scheduler?: Partial<SchedulerConfig>;
  attention?: { backend?: AttentionBackend; plas?: Partial<PlasConfig>; statsSampleEvery?: number; gate?: GateMode };
}

export class EngineConfigError extends Error {
  override name = 'EngineConfigError';
}

export const DEFAULT_PAGE_SIZE = 64;

export function engineConfig(input: EngineConfigInput = {}): EngineConfig {
  const cache: CacheConfig = { pageSize: DEFAULT_PAGE_SIZE, enablePrefixCaching: true, ...input.cache };
  const { pageSize, memoryBytes, numPages } = cache;
  if (!Number.isInteger(pageSize) || pageSize < 8 || pageSize > 256 || (pageSize & (pageSize - 1)) !== 0) {
    throw new EngineConfigError(`page_size (${pageSize}) must be a power of two in [8, 256]`);
  }
  if (memoryBytes !== undefined && !(Number.isFinite(memoryBytes) && memoryBytes > 0)) {
    throw new EngineConfigError(`kv_cache_memory (${memoryBytes} bytes) must be > 0`);
  }
  if (numPages !== undefined && !(Number.isInteger(numPages) && numPages >= 1)) {
    throw new EngineConfigError(`num_pages (${numPages}) must be an integer >= 1`);
  }
  const blockSize = input.attention?.plas?.plas_block_size ?? 128;
  const plas = mergePlasConfig(defaultPlasConfig(blockSize), input.attention?.plas ?? {}, pageSize);
  const gate = input.attention?.gate ?? 'learned';
  if (gate !== 'learned' && gate !== 'mean')
    throw new EngineConfigError(`gate (${JSON.stringify(gate)}) must be learned or mean`);
  return {
    cache,
    scheduler: validateSchedulerConfig(input.scheduler),
    attention: {
      backend: input.attention?.backend ?? 'dense',
      plas,
      statsSampleEvery: input.attention?.statsSampleEvery ?? 16,
      gate,
    },
  };
}
