/**
 * What an engine is built from, before its step loop exists: the config it runs (the caller's input over the model
 * folder's plas_config.json, the block size a learned gate was trained for), and the GPU resources sized from it
 * (the KV pool checked against the adapter before it is allocated, the gate weights, and words that say which gate
 * runs).
 */
import { DEFAULT_PAGE_SIZE, type EngineConfig, type EngineConfigInput, engineConfig } from './engine-config.ts';
import type { Gpu } from './gpu/gpu.ts';
import type { KvSizing } from './kv/kv-sizing.ts';
import type { LoadedModel } from './model/load-model.ts';
import { planKvPool } from './model/memory-plan.ts';
import {
  describeGate,
  gateBlockSize,
  gateFileOf,
  type LayerGate,
  loadPlasGateWeights,
  uploadGateWeights,
} from './plas/gate-weights.ts';
import { withModelPlasConfig } from './plas/model-plas-config.ts';
import { PagedKvPool } from './runner/paged-kv-pool.ts';

/**
 * The config an engine of this model runs: the folder's plas_config.json under the caller's settings; a learned gate
 * fixes the PLAS block size it was trained for, unless the caller chose one (and pages shrink to the block when they
 * would not divide it and the caller left the page size alone).
 */
export async function resolveEngineConfig(modelPath: string, input: EngineConfigInput): Promise<EngineConfig> {
  const gateFile = input.attention?.gateFile ?? gateFileOf(modelPath);
  input = await withModelPlasConfig(modelPath, gateFile, input);
  const gateBlocks = input.attention?.plas?.plas_block_size === undefined ? await gateBlockSize(gateFile) : null;
  if (gateBlocks !== null) {
    const plas = { ...input.attention?.plas, plas_block_size: gateBlocks };
    const pageSize = input.cache?.pageSize ?? Math.min(DEFAULT_PAGE_SIZE, gateBlocks);
    input = { ...input, cache: { ...input.cache, pageSize }, attention: { ...input.attention, plas } };
  }
  return engineConfig(input);
}

export interface EngineResources {
  sizing: KvSizing;
  pool: PagedKvPool;
  /** Per layer its learned gates (a form absent where the file has none; [] without a gate file). */
  gates: LayerGate[];
  /** Which layers use a learned gate, e.g. "learned gate on layers 0-3", or why none is read. */
  gateDescription: string;
}

/** The KV pool and gate weights for a loaded model, checked against the adapter's limits before any allocation. */
export async function allocateEngineResources(
  gpu: Gpu,
  model: LoadedModel,
  config: EngineConfig,
): Promise<EngineResources> {
  const { pageSize, dtype } = config.cache;
  const d = model.dims;
  const plasOn = config.attention.allowPlas;
  // Checked before the pool is allocated: the weights and the pool within the budget and the binding limit.
  const sizing = planKvPool(gpu.limits, d, model.config.maxPositionEmbeddings, model.weightBytes, config);
  const shape = {
    numLayers: d.numLayers,
    kvHeads: d.kvHeads,
    headDim: d.headDim,
    blockSize: config.attention.plas.plas_block_size,
  };
  // gate 'mean' does not read the folder's gate at all: a gate trained for another block size must not stop it.
  const askedMean = config.attention.gate === 'mean';
  const gateFile = config.attention.gateFile ?? gateFileOf(model.dir);
  const gateWeights = plasOn && !askedMean ? await loadPlasGateWeights(gateFile, shape) : null;
  const gates = gateWeights ? uploadGateWeights(gpu, gateWeights, shape) : [];
  const pool = new PagedKvPool(gpu, model.dims, { numPages: sizing.numPages, pageSize, dtype, keySums: plasOn });
  const gateDescription = !plasOn
    ? 'not loaded (PLAS is off for this engine)'
    : gateWeights
      ? describeGate(gateWeights)
      : askedMean
        ? `mean pooling on all ${d.numLayers} layers (asked for; the folder's gate is not read)`
        : `mean pooling on all ${d.numLayers} layers (the folder has no gate)`;
  return { sizing, pool, gates, gateDescription };
}
