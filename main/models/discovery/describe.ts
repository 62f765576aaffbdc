/**
 * One found model -> a DiscoveredModel: read as the loader would read it (without the GPU), and judged runnable or not
 * with the reasons a user can act on. A GGUF file gets the loader's own verdict (its tokenizer built too, cached per
 * file); a safetensors folder is judged from its config and weight headers (its tokenizer is not parsed).
 */
import { lstat, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeGguf as describeGgufFile } from '../../../engine/gguf/describe.ts';
import { parseSplitName, splitPartPath } from '../../../engine/gguf/split.ts';
import { expectedTensors, parseModelConfig } from '../../../engine/model/config.ts';
import { UnsupportedArchitectureError } from '../../../engine/model/errors.ts';
import { matchExpectedTensors, openModelWeights } from '../../../engine/model/model-weights.ts';
import { elementCount } from '../../../engine/model/safetensors.ts';
import { checkFolderContained } from '../../server/models/folder-containment.ts';
import { readGgufFacts } from './gguf-facts.ts';
import { resolveInside } from './safe-fs.ts';
import { outside } from './scan-huggingface.ts';
import type { DiscoveredModel, ModelSource } from './types.ts';

const FLOAT_DTYPES = new Set(['f32', 'f16', 'bf16']);

export interface Found {
  source: ModelSource;
  name: string;
  path: string;
}

/**
 * A GGUF file (its real path, already checked to stay inside the tree it was found in). Whether it runs is the
 * loader's verdict (engine/gguf/describe.ts: every header check the loader makes, the tokenizer built); the header
 * facts only word the common reasons (an architecture, a quant type, no tokenizer) in the user's terms.
 */
export async function describeGguf(found: Found, sizeBytes: number): Promise<DiscoveredModel> {
  const base = { ...found, format: 'gguf' as const, sizeBytes };
  try {
    const facts = await readGgufFacts(found.path);
    let { runnable, problems } = facts;
    if (runnable) {
      const verdict = await loaderVerdict(found.path);
      runnable = verdict.runnable;
      if (!runnable) problems = [verdict.reason ?? 'the engine cannot load it'];
    }
    return {
      ...base,
      architecture: facts.architecture,
      quantization: facts.quantization,
      contextLength: facts.contextLength,
      runnable,
      problems,
    };
  } catch (error) {
    return unreadable(base, `not a readable GGUF file: ${(error as Error).message}`);
  }
}

/**
 * A .gguf entry found inside `roots`: described; listed as a link out of the tree (never read); or null for a later
 * part of a split model whose first part is there (the model is listed once, by its first part, with the size of all
 * its parts). Every part of a split model must stay inside the roots, or none of it is read.
 */
export async function describeGgufEntry(found: Found, roots: string[]): Promise<DiscoveredModel | null> {
  const split = parseSplitName(found.path);
  if (split && split.part > 1 && (await lstat(splitPartPath(split.prefix, 1, split.count)).catch(() => null))) {
    return null;
  }
  const paths = split
    ? Array.from({ length: split.count }, (_, i) => splitPartPath(split.prefix, i + 1, split.count))
    : [found.path];
  let size = 0;
  for (const part of paths) {
    const target = await resolveInside(part, roots);
    if (target?.isFile) size += target.size;
    // A missing part is the loader's to report (it names the part); a part that exists but leads out refuses all.
    else if (part === found.path || (await lstat(part).catch(() => null)))
      return outside(found.source, found.name, found.path);
  }
  return describeGguf(found, size);
}

/** Verdicts by file (path, size, modification time): building a 150k-token vocabulary takes about a second. */
const verdicts = new Map<string, Promise<{ runnable: boolean; reason?: string }>>();
const MAX_VERDICTS = 256;

async function loaderVerdict(path: string): Promise<{ runnable: boolean; reason?: string }> {
  const s = await stat(path);
  const key = `${path}\0${s.size}\0${s.mtimeMs}`;
  let verdict = verdicts.get(key);
  if (!verdict) {
    if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
    verdict = describeGgufFile(path).then(({ runnable, reason }) => ({
      runnable,
      // The loader's errors start with the file's path; the list shows the path already.
      ...(reason !== undefined
        ? { reason: reason.startsWith(`${path}: `) ? reason.slice(path.length + 2) : reason }
        : {}),
    }));
    verdict.catch(() => verdicts.delete(key));
    verdicts.set(key, verdict);
  }
  return verdict;
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
