/**
 * The engine's memory plan: how many KV pages an engine of a given config gets next to a model's weights, checked
 * against the adapter's binding limit and the caller's GPU budget. Computed from the model's headers (dims and the
 * weights' bytes as they will be uploaded), so Engine.load runs it BEFORE a byte of weights goes to the GPU, and
 * Engine.create runs the same plan again on the loaded model before it allocates the pool. Errors are
 * EngineConfigErrors that say what would fit.
 */
import { type EngineConfig, EngineConfigError } from '../engine-config.ts';
import { type KvSizing, KvSizingError, sizeKvPool } from '../kv/kv-sizing.ts';
import { checkMemoryFits, MemoryFitError, tokensThatFit } from '../kv/memory-estimate.ts';
import type { ModelDims } from './dims.ts';

/** The adapter limits the plan is checked against. */
export interface AdapterLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** The longest sequence a request may have: max_model_len, at most (and by default) max_position_embeddings. */
export function contextLengthOf(maxPositionEmbeddings: number, config: EngineConfig): number {
  if (config.maxModelLen !== undefined && config.maxModelLen > maxPositionEmbeddings) {
    throw new EngineConfigError(
      `max_model_len (${config.maxModelLen}) is over the model's max_position_embeddings (${maxPositionEmbeddings})`,
    );
  }
  return config.maxModelLen ?? maxPositionEmbeddings;
}

/**
 * The KV pool an engine of `config` allocates next to `weightBytes` of weights: never more pages than max_num_seqs
 * full-length sequences could use, nor (with a budget and no explicit size) than the budget leaves next to the
 * weights; the weights and the pool within the budget and the binding limit; one sequence of max_model_len held.
 */
export function planKvPool(
  limits: AdapterLimits,
  dims: ModelDims,
  maxPositionEmbeddings: number,
  weightBytes: number,
  config: EngineConfig,
): KvSizing {
  const { pageSize, dtype, gpuBudgetBytes } = config.cache;
  const plasOn = config.attention.allowPlas;
  const contextLength = contextLengthOf(maxPositionEmbeddings, config);
  const maxBindingBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  // What the memory check counts: the weights as loaded, the pool in its dtype, the key sums when kept.
  const memory = { shape: dims, weightBytes, dtype, keySums: plasOn, pageSize };
  const fit = { maxBindingBytes, ...(gpuBudgetBytes !== undefined ? { budgetBytes: gpuBudgetBytes } : {}) };
  let sizing: KvSizing;
  try {
    let maxUsefulPages = Math.ceil((config.scheduler.maxNumSeqs * contextLength) / pageSize);
    if (gpuBudgetBytes !== undefined && config.cache.memoryBytes === undefined) {
      maxUsefulPages = Math.max(1, Math.min(maxUsefulPages, tokensThatFit(memory, fit) / pageSize));
    }
    sizing = sizeKvPool({
      numLayers: dims.numLayers,
      kvHeads: dims.kvHeads,
      headDim: dims.headDim,
      pageSize,
      dtype,
      maxBindingBytes,
      budgetBytes: config.cache.memoryBytes,
      numPages: config.cache.numPages,
      maxUsefulPages,
    });
    checkMemoryFits({ ...memory, tokens: sizing.tokens }, fit);
  } catch (error) {
    if (error instanceof KvSizingError || error instanceof MemoryFitError) throw new EngineConfigError(error.message);
    throw error;
  }
  if (config.maxModelLen !== undefined && sizing.tokens < config.maxModelLen) {
    const perToken = sizing.pageBytes / pageSize;
    if (sizing.numPages === sizing.maxPages && sizing.maxPages * pageSize < config.maxModelLen) {
      // No amount of memory helps: one layer's K (or V) for max_model_len tokens is over one binding.
      throw new EngineConfigError(
        `max_model_len (${config.maxModelLen}) needs ${Math.ceil(config.maxModelLen / pageSize)} pages of KV cache, ` +
          `but one layer's K (or V) buffer of more than ${sizing.maxPages} pages is over this adapter's ` +
          `${maxBindingBytes}-byte binding limit: lower max_model_len to at most ${sizing.maxPages * pageSize}` +
          (dtype === 'f32' ? ' (twice as many with an f16 KV cache)' : ''),
      );
    }
    throw new EngineConfigError(
      `max_model_len (${config.maxModelLen}) needs one sequence's ${config.maxModelLen} tokens of KV cache, but the ` +
        `${sizing.dtype} KV pool holds ${sizing.tokens} tokens (${(sizing.totalBytes / 2 ** 20).toFixed(1)} MiB at ` +
        `${perToken} bytes a token): lower max_model_len to at most ${sizing.tokens}, or raise kv_cache_memory to at ` +
        `least ${Math.ceil((Math.ceil(config.maxModelLen / pageSize) * sizing.pageBytes) / 2 ** 20)} MiB`,
    );
  }
  return sizing;
}
