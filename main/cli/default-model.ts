/**
 * The default model: PLAS Mini, trained by PLAS Studio (tools/train) and shipped in resources/models/plas-mini with
 * its PLAS gate. Every command that runs a model loads it when no --model is given.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const RESOURCES = join(import.meta.dirname, '..', '..', 'resources');
export const DEFAULT_MODEL_DIR = join(RESOURCES, 'models', 'plas-mini');

/** The --model flag's folder, or the default model's. */
export function modelDir(flag: string | undefined): string {
  if (flag !== undefined) return flag;
  if (!existsSync(join(DEFAULT_MODEL_DIR, 'config.json'))) {
    throw new Error(`no --model given, and the default model is missing from ${DEFAULT_MODEL_DIR}`);
  }
  return DEFAULT_MODEL_DIR;
}

export const MODEL_FLAG_HELP = 'Hugging Face model folder (default: the bundled PLAS Mini)';
