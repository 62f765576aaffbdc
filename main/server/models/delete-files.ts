/**
 * Deleting a model's files from disk: only on an explicit request, and only for a folder the app may delete. The rule
 * is narrow on purpose, because a registered "model folder" may be any folder the user once pointed at:
 *
 * - never the model bundled with the app (resources/), nor the data dir, the home folder or a folder holding either;
 * - only the registered folder itself: its path must still be a real folder (not a symlink) at the same real path;
 * - only a flat folder of plain files: a sub-folder (a user's project next to a config.json) or a symlink (a Hugging
 *   Face cache snapshot, whose blobs live elsewhere) refuses the whole delete, naming what is in the way;
 * - no other registered model may live in it.
 * Files are unlinked one by one (unlink never follows a symlink, even one swapped in after the check), then the
 * empty folder is removed; nothing is ever deleted recursively.
 */
import { lstat, readdir, realpath, rmdir, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, sep } from 'node:path';
import { HttpError } from '../http-error.ts';

/** Files in one folder at most: a model folder has a handful (shards included). */
const MAX_FILES = 2000;

export interface DeletableFolder {
  folder: string;
  files: string[];
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

const refuse = (message: string, code: string) => new HttpError(403, message, 'permission_error', 'name', code);

const real = (path: string) => realpath(path).catch(() => path);

export interface DeleteRules {
  /** The app's bundled resources (never deleted). */
  resources: string;
  /** The server's data dir (never deleted, nor a folder holding it). */
  dataDir: string;
  /** Paths of the other registered models. */
  otherModels: string[];
}

/** Checks that `folder` (a registered model's path) may be deleted and lists its files; throws a 403 saying why not. */
export async function checkDeletable(folder: string, rules: DeleteRules): Promise<DeletableFolder> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(folder);
  } catch {
    throw new HttpError(
      404,
      `${folder} no longer exists: remove the model from the list instead`,
      'not_found_error',
      'name',
      'folder_missing',
    );
  }
  if (info.isSymbolicLink())
    throw refuse(`${folder} is a symlink: PLAS Studio deletes only real folders`, 'not_deletable');
  if (!info.isDirectory()) throw refuse(`${folder} is not a folder`, 'not_deletable');
  if ((await realpath(folder)) !== folder) {
    throw refuse(
      `${folder} now resolves elsewhere (a symlink in its path): PLAS Studio deletes only the folder it registered`,
      'not_deletable',
    );
  }
  const [resources, dataDir, home] = await Promise.all([real(rules.resources), real(rules.dataDir), real(homedir())]);
  if (inside(folder, resources)) {
    throw refuse(`${folder} is the model bundled with the app: its files cannot be deleted`, 'bundled_model');
  }
  for (const [what, path] of [
    ['the data folder', dataDir],
    ['your home folder', home],
  ] as const) {
    if (inside(path, folder))
      throw refuse(`${folder} holds ${what} (${path}): PLAS Studio will not delete it`, 'not_deletable');
  }
  for (const other of rules.otherModels) {
    if (inside(other, folder) || inside(folder, other)) {
      throw refuse(
        `${folder} is shared with another registered model (${other}): remove that one first`,
        'not_deletable',
      );
    }
  }
  const entries = await readdir(folder, { withFileTypes: true });
  if (entries.length > MAX_FILES)
    throw refuse(`${folder} holds ${entries.length} entries: not a model folder`, 'not_deletable');
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isSymbolicLink()) {
      throw refuse(
        `${path} is a symlink (a Hugging Face cache folder?): delete the folder with the tool that made it`,
        'not_deletable',
      );
    }
    if (entry.isDirectory()) {
      throw refuse(
        `${folder} holds the folder ${entry.name}: PLAS Studio deletes only folders of model files alone`,
        'not_deletable',
      );
    }
    if (!entry.isFile()) throw refuse(`${path} is not a plain file`, 'not_deletable');
    files.push(entry.name);
  }
  if (!files.includes('config.json')) {
    throw refuse(
      `${folder} has no config.json any more: it is not a model folder PLAS Studio will delete`,
      'not_deletable',
    );
  }
  return { folder, files };
}

/** Unlinks the checked files, then the (now empty) folder. */
export async function deleteFolderFiles(checked: DeletableFolder): Promise<void> {
  for (const name of checked.files) await unlink(join(checked.folder, name));
  await rmdir(checked.folder); // fails, keeping it, if anything new appeared in it meanwhile
}
