/**
 * Reads a Hugging Face model folder's description without touching the GPU: config.json (required),
 * generation_config.json (optional), the weight headers (checked against what the config implies) and the
 * tokenizer. Every problem is found here, before a byte of GPU memory is spent.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '../tokenizer/tokenizer.ts';
import { expectedTensors, type ModelConfig, parseModelConfig } from './config.ts';
import { ModelConfigError } from './errors.ts';
import { type GenerationConfig, mergeGenerationConfig, parseGenerationConfig } from './generation-config.ts';
import { type ModelWeights, matchExpectedTensors, openModelWeights } from './model-weights.ts';

export interface ModelFolder {
  dir: string;
  config: ModelConfig;
  generation: GenerationConfig;
  weights: ModelWeights;
  /** Tensor name -> shape, for every tensor the forward pass uses. */
  expected: Map<string, number[]>;
  tokenizer: Tokenizer;
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (!required) return undefined;
      throw new ModelConfigError(path, 'file', 'not found: a model folder needs config.json (Hugging Face layout)');
    }
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelConfigError(path, 'file', `not valid JSON: ${(error as Error).message}`);
  }
}

export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const folder = await stat(dir).catch(() => null);
  if (!folder?.isDirectory()) {
    throw new ModelConfigError(dir, 'folder', folder ? 'is not a folder' : 'no such folder');
  }
  const configPath = join(dir, 'config.json');
  let config = parseModelConfig(await readJson(configPath, true), configPath);
  const generationPath = join(dir, 'generation_config.json');
  const generationJson = await readJson(generationPath, false);
  const generation =
    generationJson === undefined ? { eosTokenIds: [] } : parseGenerationConfig(generationJson, generationPath);
  config = mergeGenerationConfig(config, generation, generationPath);
  const weights = await openModelWeights(dir);
  const expected = expectedTensors(config);
  matchExpectedTensors(weights, expected, configPath);
  const tokenizer = await Tokenizer.fromFolder(dir);
  return { dir, config, generation, weights, expected, tokenizer };
}
