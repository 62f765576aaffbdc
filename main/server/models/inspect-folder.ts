/**
 * What the registry stores about a model folder, read without the GPU: the folder is checked to stay inside itself,
 * then read as the loader will read it (config.json parsed, architecture supported, every weight present with its
 * shape, tokenizer readable), so a folder that could not load is refused when it is added, with the loader's reason.
 *
 * A GGUF file (LM Studio's, llama.cpp's, an Ollama blob, a .gguf in a Hugging Face snapshot) is registered in place
 * too: its header is read (architecture, tensor types, tokenizer) and it is refused, with the reasons, when the
 * engine's architectures or quant types do not cover it. A Hugging Face snapshot folder is a model folder whose
 * files are links into its repository's blobs (allowed by folder-containment.ts).
 */
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { readModelFolder } from '../../../engine/model/model-folder.ts';
import { elementCount } from '../../../engine/model/safetensors.ts';
import { GGUF_ARCHITECTURES, readGgufFacts } from '../../models/discovery/gguf-facts.ts';
import type { ModelSummary } from '../server-types.ts';
import { checkFolderContained, ModelFolderError } from './folder-containment.ts';

/**
 * What a model folder (or GGUF file) says about itself, as a ModelSummary shows it; `path` is its real path (what the
 * registry stores and the loader opens).
 */
export type FolderSummary = Pick<
  ModelSummary,
  'path' | 'architecture' | 'parameters' | 'dtype' | 'contextLength' | 'sizeBytes'
>;

export async function inspectModelFolder(path: string): Promise<FolderSummary> {
  if (!isAbsolute(path)) throw new ModelFolderError(`path ${JSON.stringify(path)} must be an absolute folder path`);
  const info = await stat(path).catch(() => null);
  if (info?.isFile()) return inspectGgufFile(path);
  const { root, sizeBytes } = await checkFolderContained(path);
  let folder: Awaited<ReturnType<typeof readModelFolder>>;
  try {
    folder = await readModelFolder(root);
  } catch (error) {
    throw new ModelFolderError(`${path} is not a model folder PLAS Studio can load: ${(error as Error).message}`);
  }
  let parameters = 0;
  const dtypes = new Map<string, number>();
  for (const [name, shape] of folder.expected) {
    parameters += elementCount(shape);
    const dtype = folder.weights.tensors.get(name)?.dtype;
    if (dtype) dtypes.set(dtype, (dtypes.get(dtype) ?? 0) + elementCount(shape));
  }
  // The dtype most of the weights are stored in (norms are often kept in f32 beside bf16 matrices).
  const dtype = [...dtypes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
  return {
    path: root,
    architecture: folder.config.architecture,
    parameters,
    dtype,
    contextLength: folder.config.maxPositionEmbeddings,
    sizeBytes,
  };
}

/** The first bytes of every GGUF file. */
const GGUF_MAGIC = Buffer.from('GGUF', 'latin1');

async function startsWithMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head.equals(GGUF_MAGIC);
  } finally {
    await handle.close();
  }
}

/** A GGUF model file, registered where it is (its real path: the file a symlink led to when it was added). */
export async function inspectGgufFile(path: string): Promise<FolderSummary> {
  const real = await realpath(path);
  if (!(await startsWithMagic(real))) {
    throw new ModelFolderError(
      `${path} is a file but not a GGUF model (it does not start with "GGUF"): give a model folder or a .gguf file`,
    );
  }
  let facts: Awaited<ReturnType<typeof readGgufFacts>>;
  try {
    facts = await readGgufFacts(real);
  } catch (error) {
    throw new ModelFolderError(`${path} is not a GGUF file PLAS Studio can read: ${(error as Error).message}`);
  }
  if (!facts.runnable) {
    throw new ModelFolderError(`${path} is not a model PLAS Studio can run: ${facts.problems.join('; ')}`);
  }
  return {
    path: real,
    architecture: GGUF_ARCHITECTURES[facts.architecture ?? ''] ?? facts.architecture ?? 'unknown',
    parameters: facts.parameters,
    dtype: facts.quantization?.toLowerCase() ?? 'unknown',
    contextLength: facts.contextLength ?? 0,
    sizeBytes: (await stat(real)).size,
  };
}
