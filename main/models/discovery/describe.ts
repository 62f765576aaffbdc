/**
 * One found model -> a DiscoveredModel: read as the loader would read it (without the GPU, without the tokenizer's
 * seconds of parsing), and judged runnable or not with the reasons a user can act on.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedTensors, parseModelConfig } from '../../../engine/model/config.ts';
import { UnsupportedArchitectureError } from '../../../engine/model/errors.ts';
import { matchExpectedTensors, openModelWeights } from '../../../engine/model/model-weights.ts';
import { elementCount } from '../../../engine/model/safetensors.ts';
import { checkFolderContained } from '../../server/models/folder-containment.ts';
import { readGgufFacts } from './gguf-facts.ts';
import type { DiscoveredModel, ModelSource } from './types.ts';

const FLOAT_DTYPES = new Set(['f32', 'f16', 'bf16']);

export interface Found {
  source: ModelSource;
  name: string;
  path: string;
}

/** A GGUF file (its real path, already checked to stay inside the tree it was found in). */
export async function describeGguf(found: Found, sizeBytes: number): Promise<DiscoveredModel> {
  const base = { ...found, format: 'gguf' as const, sizeBytes };
  try {
    const facts = await readGgufFacts(found.path);
    return {
      ...base,
      architecture: facts.architecture,
      quantization: facts.quantization,
      contextLength: facts.contextLength,
      runnable: facts.runnable,
      problems: facts.problems,
    };
  } catch (error) {
    return unreadable(base, `not a readable GGUF file: ${(error as Error).message}`);
  }
}

function unreadable(
  base: Pick<DiscoveredModel, 'source' | 'name' | 'path' | 'format' | 'sizeBytes'>,
  problem: string,
): DiscoveredModel {
  return { ...base, architecture: null, quantization: null, contextLength: null, runnable: false, problems: [problem] };
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

/** A Hugging Face layout folder (config.json + safetensors + tokenizer.json). */
export async function describeSafetensors(found: Found): Promise<DiscoveredModel> {
  let root: string;
  let sizeBytes: number;
  try {
    // A link out of the folder (or out of its HF repository's blobs) refuses the folder: nothing behind it is read.
    ({ root, sizeBytes } = await checkFolderContained(found.path));
  } catch (error) {
    return unreadable({ ...found, format: 'safetensors', sizeBytes: 0 }, (error as Error).message);
  }
  const base = { ...found, format: 'safetensors' as const, sizeBytes };
  const configPath = join(root, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    return unreadable(base, `config.json is unreadable: ${(error as Error).message}`);
  }
  const listed = (raw as { architectures?: unknown })?.architectures;
  let architecture = Array.isArray(listed) && typeof listed[0] === 'string' ? listed[0] : null;
  const problems: string[] = [];
  let contextLength: number | null = null;
  let quantization: string | null = null;
  try {
    const config = parseModelConfig(raw, configPath);
    architecture = config.architecture;
    contextLength = config.maxPositionEmbeddings;
    const weights = await openModelWeights(root);
    const expected = expectedTensors(config);
    const dtypes = new Map<string, number>();
    for (const t of weights.tensors.values()) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + elementCount(t.shape));
    quantization = [...dtypes].sort((a, b) => b[1] - a[1])[0]?.[0]?.toLowerCase() ?? null;
    for (const dtype of dtypes.keys()) {
      if (!FLOAT_DTYPES.has(dtype.toLowerCase())) problems.push(`weights in ${dtype} are not supported`);
    }
    matchExpectedTensors(weights, expected, configPath);
  } catch (error) {
    if (error instanceof UnsupportedArchitectureError) problems.push(`unsupported architecture ${error.architecture}`);
    else problems.push((error as Error).message);
  }
  if (!(await isFile(join(root, 'tokenizer.json')))) problems.push('missing tokenizer (no tokenizer.json)');
  return { ...base, architecture, quantization, contextLength, runnable: problems.length === 0, problems };
}
