/**
 * The weights of a Hugging Face model folder: one model.safetensors, or shards listed by
 * model.safetensors.index.json (`{"metadata": {...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors"}}`).
 * Every shard's header is read and checked up front, so a missing shard or a truncated download fails before loading.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { describeValue, isPlainObject } from './config-fields.ts';
import { ModelWeightsError } from './errors.ts';
import { formatShape, openSafetensors, type TensorEntry } from './safetensors.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** A file holding weights: a .safetensors file (SafetensorsFile) or a .gguf file. */
export interface WeightFile {
  path: string;
  fileSize: number;
}

export interface ModelWeights {
  /** The model folder, or the .gguf file. */
  dir: string;
  /** The weight files, in the order first met. */
  files: WeightFile[];
  /** Every tensor by its HF name. */
  tensors: Map<string, TensorEntry>;
  totalBytes: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Opens model.safetensors (preferred, as transformers does) or the shards of model.safetensors.index.json. */
export async function openModelWeights(dir: string): Promise<ModelWeights> {
  if (await exists(join(dir, SINGLE_FILE))) {
    const file = await openSafetensors(join(dir, SINGLE_FILE));
    return { dir, files: [file], tensors: new Map(file.tensors), totalBytes: sumBytes(file.tensors) };
  }
  if (await exists(join(dir, INDEX_FILE))) return openSharded(dir);

  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new ModelWeightsError(dir, `cannot read the model folder: ${(error as Error).message}`);
  }
  const other = names.filter((n) => /\.(bin|pt|pth)$/.test(n));
  const gguf = names.filter((n) => /\.gguf$/i.test(n));
  let hint = '';
  if (gguf.length > 0) {
    hint = ` (found ${gguf.join(', ')}: open a GGUF model by the path of its .gguf file, or a folder holding only it)`;
  } else if (other.length > 0) {
    hint =
      ` (found ${other.join(', ')}: only safetensors weights are supported in a model folder (and GGUF files); ` +
      'convert them or pick the safetensors version of the model)';
  }
  throw new ModelWeightsError(dir, `no ${SINGLE_FILE} or ${INDEX_FILE} in the model folder${hint}`);
}

async function openSharded(dir: string): Promise<ModelWeights> {
  const indexPath = join(dir, INDEX_FILE);
  const fail = (detail: string): never => {
    throw new ModelWeightsError(indexPath, detail);
  };
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    fail(`is not valid JSON (${(error as Error).message})`);
  }
  const weightMap = isPlainObject(index) ? index.weight_map : undefined;
  if (!isPlainObject(weightMap)) return fail('has no weight_map object (tensor name -> shard file)');
  if (Object.keys(weightMap).length === 0) fail('weight_map is empty');

  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string') return fail(`weight_map maps ${name} to ${describeValue(file)}, not a file name`);
    checkInside(file, name, fail);
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }

  const files: WeightFile[] = [];
  const tensors = new Map<string, TensorEntry>();
  for (const [file, names] of byFile) {
    const path = join(dir, file);
    if (!(await exists(path))) {
      fail(`weight_map maps ${names[0]} to ${file}, which is not in ${dir}: the download is incomplete`);
    }
    const opened = await openSafetensors(path);
    files.push(opened);
    for (const name of names) {
      const entry = opened.tensors.get(name);
      if (!entry) fail(`weight_map maps ${name} to ${file}, but ${file} has no tensor ${name}`);
      tensors.set(name, entry!);
    }
  }
  return { dir, files, tensors, totalBytes: sumBytes(tensors) };
}

/**
 * A shard name must stay inside the model folder. The check is on the name as written, not on the resolved path:
 * Hugging Face's cache keeps each file as a symlink to a blob outside the snapshot folder, and that is fine.
 */
function checkInside(file: string, name: string, fail: (detail: string) => never): void {
  const parts = file.split(/[\\/]/);
  if (file === '' || isAbsolute(file) || /^[a-zA-Z]:/.test(file) || file.startsWith('\\') || parts.includes('..')) {
    fail(`weight_map maps ${name} to ${JSON.stringify(file)}: shard files must be relative paths inside the folder`);
  }
}

function sumBytes(tensors: Map<string, TensorEntry>): number {
  let total = 0;
  for (const t of tensors.values()) total += t.byteLength;
  return total;
}

/**
 * Checks the weights hold every tensor `expected` lists (from expectedTensors) with exactly that shape; throws a
 * ModelWeightsError listing what is missing or misshapen. Returns the tensors nothing expects, which the loader
 * skips (a tied model that still ships lm_head.weight, an old checkpoint's rotary_emb.inv_freq).
 */
export function matchExpectedTensors(
  weights: ModelWeights,
  expected: Map<string, number[]>,
  configSource = 'config.json',
): { unused: string[] } {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const entry = weights.tensors.get(name);
    if (!entry) problems.push(`missing tensor ${name} (expected shape ${formatShape(shape)})`);
    else if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      problems.push(
        `tensor ${name} has shape ${formatShape(entry.shape)} in ${entry.file}, but ${configSource} implies ` +
          formatShape(shape),
      );
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new ModelWeightsError(weights.dir, `the weights do not match ${configSource}: ${shown}${more}`);
  }
  return { unused: [...weights.tensors.keys()].filter((name) => !expected.has(name)) };
}
