/**
 * The folders the user added for discovery to look in, kept in the data dir as `discovery-folders.json` (a list of
 * absolute paths). Only the list is stored; the folders themselves are only ever read.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

const FILE = 'discovery-folders.json';
const MAX_FOLDERS = 64;

export class DiscoveryFolderError extends Error {
  override name = 'DiscoveryFolderError';
}

export async function readUserFolders(dataDir: string): Promise<string[]> {
  try {
    const list = JSON.parse(await readFile(join(dataDir, FILE), 'utf8'));
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string' && isAbsolute(p)) : [];
  } catch {
    return []; // none added yet (or a file edited into nonsense: start over rather than fail the page)
  }
}

async function save(dataDir: string, folders: string[]): Promise<void> {
  const path = join(dataDir, FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(folders, null, 2), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** Adds a folder (absolute, existing); returns the new list. Throws DiscoveryFolderError naming what is wrong. */
export async function addUserFolder(dataDir: string, folder: string): Promise<string[]> {
  if (!isAbsolute(folder))
    throw new DiscoveryFolderError(`path ${JSON.stringify(folder)} must be an absolute folder path`);
  const path = resolve(folder);
  const info = await stat(path).catch(() => null);
  if (!info) throw new DiscoveryFolderError(`${path} does not exist`);
  if (!info.isDirectory()) throw new DiscoveryFolderError(`${path} is not a folder`);
  const folders = await readUserFolders(dataDir);
  if (folders.includes(path)) return folders;
  if (folders.length >= MAX_FOLDERS) throw new DiscoveryFolderError(`at most ${MAX_FOLDERS} folders can be added`);
  const next = [...folders, path];
  await save(dataDir, next);
  return next;
}

export async function removeUserFolder(dataDir: string, folder: string): Promise<string[]> {
  const folders = await readUserFolders(dataDir);
  const next = folders.filter((f) => f !== resolve(folder));
  if (next.length !== folders.length) await save(dataDir, next);
  return next;
}
