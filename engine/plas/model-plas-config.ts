/**
 * A model's recommended PLAS config: `plas_config.json` in the model folder, the same keys as the PLAS config JSON
 * (`--plas-attention-config`), plus an optional "comment" string. The engine loads it as that model's default: it sits
 * between the engine's defaults and what the caller asks for (flags, saved settings, a request's own), so a model
 * whose card measured where PLAS holds runs PLAS there out of the box, and every setting can still be overridden.
 *
 * The file is untrusted input: too large, not JSON, not an object, an unknown key or a bad value is a
 * ModelPlasConfigError naming the file and the key, never a crash. A key left out keeps the engine's default (limits
 * left out follow left x block size, as in any PLAS config).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PAGE_SIZE, type EngineConfigInput } from '../engine-config.ts';
import { type PlasConfig, PlasConfigError, parsePlasConfig } from './config.ts';
import { gateBlockSize } from './gate-weights.ts';

export const MODEL_PLAS_CONFIG_FILE = 'plas_config.json';

/** A recommended config is a few hundred bytes; anything much larger is not one. */
const MAX_BYTES = 64 << 10;

/** Keys of the file that are not PLAS settings. */
const COMMENT = 'comment';

export class ModelPlasConfigError extends PlasConfigError {
  override name = 'ModelPlasConfigError';

  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/**
 * The folder's recommended PLAS settings (only the keys the file gives), or null when it has no plas_config.json.
 * Validated as a whole over the engine's defaults (page size 16, the smallest block: the engine checks the block
 * against its real page size when it starts).
 */
export async function loadModelPlasConfig(dir: string): Promise<Partial<PlasConfig> | null> {
  const path = join(dir, MODEL_PLAS_CONFIG_FILE);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    // No file, or the model is a file itself (GGUF): no recommended settings.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new ModelPlasConfigError(path, `cannot be read: ${(error as Error).message}`);
  }
  if (size > MAX_BYTES) throw new ModelPlasConfigError(path, `is ${size} bytes; a PLAS config is at most ${MAX_BYTES}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ModelPlasConfigError(path, `is not valid JSON: ${(error as Error).message}`);
  }
  return checkModelPlasConfig(path, parsed);
}

/** The file's settings from its parsed JSON (exported for tests); `path` names it in errors. */
export function checkModelPlasConfig(path: string, parsed: unknown): Partial<PlasConfig> {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelPlasConfigError(path, `must be a JSON object of PLAS settings, got ${JSON.stringify(parsed)}`);
  }
  const { [COMMENT]: comment, ...settings } = parsed as Record<string, unknown>;
  if (comment !== undefined && typeof comment !== 'string') {
    throw new ModelPlasConfigError(path, `${COMMENT} must be a string, got ${JSON.stringify(comment)}`);
  }
  try {
    parsePlasConfig(settings, 16);
  } catch (error) {
    if (error instanceof PlasConfigError) throw new ModelPlasConfigError(path, error.message);
    throw error;
  }
  return settings as Partial<PlasConfig>;
}

/**
 * The PLAS settings a model starts with: the folder's recommended ones under the caller's own (`own` wins key by
 * key). A side (encoder or decoder) whose range the caller sets without its limit gets the limit it would get without
 * the file (left x block size): the file's limit was chosen for the file's range.
 */
export function withModelDefaults(
  recommended: Partial<PlasConfig> | null,
  own: Partial<PlasConfig> = {},
): Partial<PlasConfig> {
  if (!recommended) return own;
  const merged: Partial<PlasConfig> = { ...recommended, ...own };
  for (const side of ['encoder', 'decoder'] as const) {
    const limit = `plas_use_${side}_seq_limit` as const;
    const range = own[`plas_${side}_top_k_left`] !== undefined || own[`plas_${side}_top_k_right`] !== undefined;
    if (range && own[limit] === undefined) delete merged[limit];
  }
  return merged;
}

/**
 * The engine input with the model's recommended PLAS settings under the caller's own (Engine.create / Engine.load).
 * Only a model folder has a plas_config.json (a GGUF file, or a folder without one: the input as it is). The block
 * size: the caller's, else the one the model's learned gate was trained for (a gate retrained for another block size
 * after the file was written wins over it; the file's other settings still apply), else the file's; when the file's
 * is taken, pages shrink to the block if they would not divide it and the caller left the page size alone, as for a
 * gate's block size.
 */
export async function withModelPlasConfig(
  modelPath: string,
  gateFile: string,
  input: EngineConfigInput,
): Promise<EngineConfigInput> {
  const recommended = await loadModelPlasConfig(modelPath);
  if (!recommended) return input;
  const own = input.attention?.plas ?? {};
  const { plas_block_size: fileBlock, ...settings } = recommended;
  const gateBlock = own.plas_block_size === undefined ? await gateBlockSize(gateFile) : null;
  let plas = withModelDefaults(settings, own);
  let cache = input.cache;
  if (own.plas_block_size === undefined && gateBlock === null && fileBlock !== undefined) {
    plas = { ...plas, plas_block_size: fileBlock };
    cache = { ...cache, pageSize: cache?.pageSize ?? Math.min(DEFAULT_PAGE_SIZE, fileBlock) };
  }
  return { ...input, ...(cache ? { cache } : {}), attention: { ...input.attention, plas } };
}
