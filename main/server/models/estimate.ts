/**
 * GPU memory a model needs at a context length, before loading it: its weights as the loader uploads them (each tensor
 * in its stored dtype, rounded up to whole 4-byte words) plus one sequence's paged KV cache at that length (f32 K and
 * V per layer, whole pages, sized by the engine's own sizing) and, when PLAS may run, the per-page key sums PLAS
 * scores blocks with (f32 [pages, kvHeads, headDim] per layer).
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PAGE_SIZE } from '../../../engine/engine-config.ts';
import { sizeKvPool } from '../../../engine/kv/kv-sizing.ts';
import { expectedTensors, parseModelConfig } from '../../../engine/model/config.ts';
import { openModelWeights } from '../../../engine/model/model-weights.ts';

export interface MemoryEstimate {
  context: number;
  pageSize: number;
  weightsBytes: number;
  kvBytes: number;
  /** PLAS key sums (0 when PLAS is off). */
  keySumBytes: number;
  /** KV bytes per token of context (all layers, K and V). */
  kvBytesPerToken: number;
  totalBytes: number;
}

export interface EstimateOptions {
  pageSize?: number;
  /** Whether the engine keeps PLAS key sums (attention.allowPlas). */
  keySums?: boolean;
}

export async function estimateMemory(
  dir: string,
  context: number,
  options: EstimateOptions = {},
): Promise<MemoryEstimate> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  // config.json and the weight headers only: the tokenizer (seconds to parse for a big vocabulary) is not needed.
  const configPath = join(dir, 'config.json');
  const c = parseModelConfig(JSON.parse(await readFile(configPath, 'utf8')), configPath);
  const weights = await openModelWeights(dir);
  let weightsBytes = 0;
  for (const name of expectedTensors(c).keys()) {
    const entry = weights.tensors.get(name);
    if (entry) weightsBytes += Math.max(4, Math.ceil(entry.byteLength / 4) * 4);
  }
  const kv = sizeKvPool({
    numLayers: c.numLayers,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    pageSize,
    // An estimate, not an allocation: the adapter's binding limit is the engine's concern at load.
    maxBindingBytes: Number.MAX_SAFE_INTEGER,
    numPages: Math.ceil(context / pageSize),
  });
  const keySumBytes = options.keySums ? c.numLayers * kv.numPages * c.numKvHeads * c.headDim * 4 : 0;
  return {
    context,
    pageSize,
    weightsBytes,
    kvBytes: kv.totalBytes,
    keySumBytes,
    kvBytesPerToken: kv.pageBytes / pageSize,
    totalBytes: weightsBytes + kv.totalBytes + keySumBytes,
  };
}
