/**
 * The engine's configuration: sub-configs for the KV cache and the scheduler, validated once, with errors that print
 * the offending values.
 */
import { KV_DTYPES, type KvDType } from './kv/paged-layout.ts';
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
  /**
   * Element type of the K and V pools: 'f16' (default: half the memory and attention reads of f32; values rounded to
   * nearest even on store, which the fixtures' greedy tokens do not notice) or 'f32'.
   */
  dtype: KvDType;
  /**
   * Bytes the model may use on the GPU in all: its weights + the KV pool + the PLAS key sums. The pool is checked
   * against it before it is allocated (an EngineConfigError saying the longest context that fits); absent: unchecked.
   */
  gpuBudgetBytes?: number;
}

export interface AttentionConfig {
  /** What a request that does not choose runs (GenerateRequest.attention overrides it per request). */
  backend: AttentionBackend;
  /**
   * Whether requests may run PLAS (default true): the PLAS key sums are then kept for every page, whatever each
   * request runs (they cost 1 / (2 x page size) of the KV memory, e.g. 0.8% at pages of 64), and the gate is loaded.
   * False when backend is dense saves that memory and the key-sum kernel of each layer.
   */
  allowPlas: boolean;
  /** The live PLAS config: ranges and limits of requests that do not bring their own (Engine.setPlasConfig). */
  plas: PlasConfig;
  /**
   * PLAS statistics (blocks, density) are gathered on one step in this many (default 16; 1 = every step); steps with
   * prefill are always sampled.
   */
  statsSampleEvery: number;
  /** Also measure the recall of the top-k selection on sampled steps (default false: it adds copies and reads). */
  recall: boolean;
  /**
   * The compressed keys PLAS scores blocks with: 'learned' uses the folder's plas_attention_mlp_weight.safetensors
   * when it has one (mean pooling otherwise), 'mean' always pools by the mean (to compare against the gate).
   */
  gate: GateMode;
  /**
   * Where the learned gate is read. Default: beside the model (engine/plas/gate-weights.ts gateFileOf); a host whose
   * model folder is read-only keeps it elsewhere and passes its path.
   */
  gateFile?: string;
}

export type GateMode = 'learned' | 'mean';

export interface EngineConfig {
  cache: CacheConfig;
  scheduler: SchedulerConfig;
  attention: AttentionConfig;
  /**
   * Undelivered events a request may have before it is held (not scheduled) until its reader catches up: a slow
   * reader makes its own request wait, never the batch, and memory stays bounded. Default 64.
   */
  eventBacklog: number;
  /**
   * The longest sequence (prompt + output) a request may have: at most the model's max_position_embeddings (the
   * default). The KV pool must hold one sequence of this length, or the engine refuses to start.
   */
  maxModelLen?: number;
}

export interface EngineConfigInput {
  eventBacklog?: number;
  maxModelLen?: number;
  cache?: Partial<CacheConfig>;
  scheduler?: Partial<SchedulerConfig>;
  attention?: {
    backend?: AttentionBackend;
    allowPlas?: boolean;
    plas?: Partial<PlasConfig>;
    statsSampleEvery?: number;
    recall?: boolean;
    gate?: GateMode;
    gateFile?: string;
  };
}

export class EngineConfigError extends Error {
  override name = 'EngineConfigError';
}

export const DEFAULT_PAGE_SIZE = 64;

export function engineConfig(input: EngineConfigInput = {}): EngineConfig {
  const cache: CacheConfig = { pageSize: DEFAULT_PAGE_SIZE, enablePrefixCaching: true, dtype: 'f16', ...input.cache };
  const { pageSize, memoryBytes, numPages, dtype, gpuBudgetBytes } = cache;
  if (!KV_DTYPES.includes(dtype)) {
    throw new EngineConfigError(`cache.dtype (${JSON.stringify(dtype)}) must be ${KV_DTYPES.join(' or ')}`);
  }
  if (gpuBudgetBytes !== undefined && !(Number.isFinite(gpuBudgetBytes) && gpuBudgetBytes > 0)) {
    throw new EngineConfigError(`cache.gpuBudgetBytes (${gpuBudgetBytes}) must be > 0`);
  }
  const { maxModelLen } = input;
  if (maxModelLen !== undefined && !(Number.isInteger(maxModelLen) && maxModelLen >= 1)) {
    throw new EngineConfigError(`max_model_len (${maxModelLen}) must be an integer >= 1`);
  }
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
  const backend = input.attention?.backend ?? 'dense';
  if (backend !== 'dense' && backend !== 'plas') {
    throw new EngineConfigError(`attention.backend (${JSON.stringify(backend)}) must be dense or plas`);
  }
  const allowPlas = input.attention?.allowPlas ?? true;
  if (backend === 'plas' && !allowPlas) {
    throw new EngineConfigError('attention.backend is plas but attention.allowPlas is false');
  }
  const statsSampleEvery = input.attention?.statsSampleEvery ?? 16;
  if (!Number.isInteger(statsSampleEvery) || statsSampleEvery < 1) {
    throw new EngineConfigError(`attention.statsSampleEvery (${statsSampleEvery}) must be an integer >= 1`);
  }
  let scheduler: SchedulerConfig;
  try {
    scheduler = validateSchedulerConfig(input.scheduler);
  } catch (error) {
    throw new EngineConfigError((error as Error).message);
  }
  const eventBacklog = input.eventBacklog ?? 64;
  if (!Number.isInteger(eventBacklog) || eventBacklog < 2 || eventBacklog > 65536) {
    throw new EngineConfigError(`eventBacklog (${eventBacklog}) must be an integer in [2, 65536]`);
  }
  return {
    eventBacklog,
    ...(maxModelLen !== undefined ? { maxModelLen } : {}),
    cache,
    scheduler,
    attention: {
      backend,
      allowPlas,
      plas,
      statsSampleEvery,
      recall: input.attention?.recall ?? false,
      gate,
      ...(input.attention?.gateFile !== undefined ? { gateFile: input.attention.gateFile } : {}),
    },
  };
}
