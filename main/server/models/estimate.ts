/**
 * GPU memory a model needs at a context length, before loading it: its weights as the loader uploads them (each tensor
 * in its stored dtype, rounded up to whole 4-byte words) plus one sequence's paged KV cache at that length (K and V
 * per layer in the KV cache dtype, f16 by default as the engine's, whole pages) and, when PLAS may run, the per-page
 * key sums PLAS scores blocks with (f32 [pages, kvHeads, headDim] per layer). The numbers are the engine's own
 * (engine/kv/memory-estimate.ts), the ones it checks its pool against before allocating.
 */

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PAGE_SIZE } from '../../../engine/engine-config.ts';
import { ggufModelConfig, ggufWeights } from '../../../engine/gguf/gguf-model.ts';
import { openGgufModel } from '../../../engine/gguf/split.ts';
import { kvBytesPerToken } from '../../../engine/kv/kv-sizing.ts';
import { estimateMemory as estimateEngineMemory } from '../../../engine/kv/memory-estimate.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { expectedTensors, parseModelConfig } from '../../../engine/model/config.ts';
import { openModelWeights } from '../../../engine/model/model-weights.ts';
import type { Agree, Same } from '../same-type.ts';
import type { KvCacheDType, MemoryEstimate } from './estimate-types.ts';

// The answer's shape lives in an import-free file the renderer imports too; its dtype list must be the engine's.
export type { MemoryEstimate } from './estimate-types.ts';

type _DTypesAgree = Agree<Same<KvDType, KvCacheDType>>;

export interface EstimateOptions {
  pageSize?: number;
  /** Whether the engine keeps PLAS key sums (attention.allowPlas). */
  keySums?: boolean;
  /** The engine's cache.dtype (default f16, the engine's default). */
  kvDtype?: KvDType;
}

/** A GGUF model's config and weights, from its header alone (no tokenizer, no tensor bytes). */
async function ggufConfigAndWeights(path: string) {
  const file = await openGgufModel(path); // a split model's parts read as one
  const { config } = await ggufModelConfig(file);
  return { c: config, weights: ggufWeights(file, config) };
}

/** A folder's config and weights, from config.json and the weight headers only. */
async function folderConfigAndWeights(dir: string) {
  const configPath = join(dir, 'config.json');
  const c = parseModelConfig(JSON.parse(await readFile(configPath, 'utf8')), configPath);
  return { c, weights: await openModelWeights(dir) };
}

/** Weights and shape of a model (a folder or a GGUF file), from headers only (no tokenizer, no upload). */
export async function modelMemoryShape(path: string) {
  const isFile = (await stat(path)).isFile();
  const { c, weights } = isFile ? await ggufConfigAndWeights(path) : await folderConfigAndWeights(path);
  let weightsBytes = 0;
  for (const name of expectedTensors(c).keys()) {
    const entry = weights.tensors.get(name);
    if (entry) weightsBytes += Math.max(4, Math.ceil(entry.byteLength / 4) * 4);
  }
  return {
    weightsBytes,
    shape: { numLayers: c.numLayers, kvHeads: c.numKvHeads, headDim: c.headDim },
    maxPositionEmbeddings: c.maxPositionEmbeddings,
  };
}

export async function estimateMemory(
  dir: string,
  context: number,
  options: EstimateOptions = {},
): Promise<MemoryEstimate> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const kvDtype = options.kvDtype ?? 'f16';
  const { weightsBytes, shape } = await modelMemoryShape(dir);
  const e = estimateEngineMemory({
    shape,
    weightBytes: weightsBytes,
    dtype: kvDtype,
    tokens: context,
    pageSize,
    keySums: options.keySums ?? false,
  });
  return {
    context,
    pageSize,
    weightsBytes,
    kvDtype,
    kvBytes: e.kvBytes,
    keySumBytes: e.keySumBytes,
    kvBytesPerToken: e.kvBytesPerToken,
    kvBytesPerTokenByDtype: { f16: kvBytesPerToken(shape, 'f16'), f32: kvBytesPerToken(shape, 'f32') },
    totalBytes: e.totalBytes,
  };
}
