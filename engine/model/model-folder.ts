/**
 * Reads a Hugging Face model folder's description without touching the GPU: config.json (required),
 * generation_config.json (optional), the weight headers (checked against what the config implies) and the
 * tokenizer. Every problem is found here, before a byte of GPU memory is spent. A GGUF model (a .gguf file, or a
 * folder with no config.json holding one) gives the same description, from the file's metadata (engine/gguf).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readGgufModel } from '../gguf/gguf-model.ts';
import { parseSplitName, splitPartPath } from '../gguf/split.ts';
import { Tokenizer } from '../tokenizer/tokenizer.ts';
import { expectedTensors, type ModelConfig, parseModelConfig } from './config.ts';
import { ModelConfigError } from './errors.ts';
import { type GenerationConfig, mergeGenerationConfig, parseGenerationConfig } from './generation-config.ts';
import { type ModelWeights, matchExpectedTensors, openModelWeights } from './model-weights.ts';

export interface ModelFolder {
  /** The model folder, or the .gguf file of a GGUF model. */
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
  if (folder?.isFile() && /\.gguf$/i.test(dir)) return readGgufModel(dir);
  if (!folder?.isDirectory()) {
    throw new ModelConfigError(dir, 'folder', folder ? 'is not a folder or a .gguf file' : 'no such folder');
  }
  const configPath = join(dir, 'config.json');
  const gguf = await ggufInFolder(dir, configPath);
  if (gguf !== undefined) return readGgufModel(gguf);
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

/** mmproj files are the vision towers LM Studio and llama.cpp keep beside a model; they are not language models. */
const PROJECTOR = /^mmproj/i;

/**
 * The .gguf to open when a folder has no config.json: its one GGUF model, a single file or the first part of a split
 * model (-00001-of-00003.gguf; readGgufModel opens every part). Several models are ambiguous (quantizations of one
 * model side by side).
 */
async function ggufInFolder(dir: string, configPath: string): Promise<string | undefined> {
  if (await stat(configPath).catch(() => null)) return undefined;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const files = names.filter((n) => /\.gguf$/i.test(n) && !PROJECTOR.test(n)).sort();
  // A split model counts once, by its first part's name.
  const models = [
    ...new Set(
      files.map((n) => {
        const split = parseSplitName(n);
        return split ? `${splitPartPath(split.prefix, 1, split.count)}` : n;
      }),
    ),
  ];
  if (models.length === 0) return undefined;
  if (models.length > 1) {
    throw new ModelConfigError(
      dir,
      'folder',
      `holds ${models.length} GGUF files (${models.join(', ')}); open one by its path`,
    );
  }
  return join(dir, models[0]);
}
