/**
 * What the registry stores about a model folder, read without the GPU: the folder is checked to stay inside itself,
 * then read as the loader will read it (config.json parsed, architecture supported, every weight present with its
 * shape, tokenizer readable), so a folder that could not load is refused when it is added, with the loader's reason.
 */
import { isAbsolute } from 'node:path';
import { readModelFolder } from '../../../engine/model/model-folder.ts';
import { elementCount } from '../../../engine/model/safetensors.ts';
import { checkFolderContained, ModelFolderError } from './folder-containment.ts';

export interface FolderSummary {
  /** The folder's real path: what the registry stores and the loader opens. */
  path: string;
  architecture: string;
  parameters: number;
  dtype: string;
  contextLength: number;
  sizeBytes: number;
}

export async function inspectModelFolder(path: string): Promise<FolderSummary> {
  if (!isAbsolute(path)) throw new ModelFolderError(`path ${JSON.stringify(path)} must be an absolute folder path`);
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
