/** Adding model folders to the registry: each is inspected first, so only loadable folders are ever registered. */
import { basename, dirname, join, sep } from 'node:path';
import { DuplicateModelError, type ModelRecord, type ModelsRepository } from '../../store/models-repo.ts';
import { isBundledPath } from './bundled.ts';
import { inspectModelFolder } from './inspect-folder.ts';
import { checkModelName, nameFromFolder } from './model-names.ts';

/** Registers a folder under `name` (default: the folder's name, made unique). Throws ModelFolderError, ModelNameError, DuplicateModelError. */
export async function addModel(repo: ModelsRepository, path: string, name?: string): Promise<ModelRecord> {
  // The cheap checks first: reading a folder parses its tokenizer (seconds for a big vocabulary).
  if (name !== undefined) {
    checkModelName(name);
    if (repo.get(name)) throw new DuplicateModelError(name);
  }
  const folder = await inspectModelFolder(path);
  const finalName = name === undefined ? nameFromFolder(namingPath(path), (n) => repo.get(n) !== undefined) : name;
  const record: ModelRecord = { name: finalName, ...folder, addedAt: Date.now(), keepAliveMs: null };
  repo.add(record);
  return record;
}

/**
 * The path a default name is taken from: a Hugging Face snapshot is named after its repository, not its revision
 * (`.../models--Qwen--Qwen3-0.6B/snapshots/<sha>` -> "Qwen3-0.6B"), a GGUF file without its extension.
 */
function namingPath(path: string): string {
  const snapshots = dirname(path);
  const repo = basename(dirname(snapshots));
  if (basename(snapshots) === 'snapshots' && repo.startsWith('models--')) return repo.split('--').at(-1) ?? repo;
  return path.replace(/\.gguf$/i, '');
}

/**
 * The name a folder is registered under, registering it when it is not (the folder `plas serve --model` names). Its
 * summary is refreshed, since the folder may have changed since it was added.
 */
export async function registerModel(repo: ModelsRepository, path: string): Promise<string> {
  const folder = await inspectModelFolder(path);
  const existing =
    repo.findByPath(folder.path) ?? (isBundledPath(folder.path) ? bundledElsewhere(repo, folder.path) : undefined);
  if (!existing) return (await addModel(repo, folder.path)).name;
  if (existing.path !== folder.path) repo.movePath(existing.name, folder.path);
  repo.updateSummary(existing.name, folder);
  return existing.name;
}

/**
 * The bundled model as another copy of the app registered it in a shared data folder (another checkout, an older
 * install): the folder's name, at a path ending in resources/models/<that name>. It is the same model, so its name,
 * chats and saved settings move to this copy's folder instead of a second entry "plas-mini-2" appearing.
 */
function bundledElsewhere(repo: ModelsRepository, path: string): ModelRecord | undefined {
  const name = basename(path);
  const record = repo.get(name);
  return record?.path.endsWith(sep + join('resources', 'models', name)) ? record : undefined;
}
