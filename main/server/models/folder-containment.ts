/**
 * A model folder must not reach outside itself: a symlink in it that resolves elsewhere (`config.json ->
 * /etc/passwd`, `weights -> /`) would make "add this folder" a way to read any file the server can. Every entry is
 * checked, recursively, on add and again before each load (the folder may change in between).
 *
 * One exception, because it is how most models on disk look: a Hugging Face cache snapshot
 * (`.../models--org--name/snapshots/<revision>/`) holds symlinks into the same repository's `blobs/` folder. Those
 * stay inside that repository folder and are allowed; nothing else outside the snapshot is.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';

export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 4;

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The roots symlinks may resolve into: the folder, and for a Hugging Face snapshot its repository's blobs. */
function allowedRoots(root: string): string[] {
  const snapshots = dirname(root);
  const repo = dirname(snapshots);
  if (basename(snapshots) === 'snapshots' && basename(repo).startsWith('models--')) return [root, join(repo, 'blobs')];
  return [root];
}

export interface FolderFiles {
  /** The folder's real path (symlinks in the path to it resolved). */
  root: string;
  /** Bytes of every file in it (symlinked blobs counted once per link). */
  sizeBytes: number;
}

/** Checks the folder and returns its real path and size; throws ModelFolderError naming the entry that escapes. */
export async function checkFolderContained(folder: string): Promise<FolderFiles> {
  let root: string;
  try {
    root = await realpath(folder);
  } catch (error) {
    throw new ModelFolderError(`${folder} does not exist (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (!(await stat(root)).isDirectory()) throw new ModelFolderError(`${folder} is not a folder`);
  const roots = allowedRoots(root);
  let entries = 0;
  let sizeBytes = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (++entries > MAX_ENTRIES) throw new ModelFolderError(`${folder} has more than ${MAX_ENTRIES} entries`);
      const path = join(dir, entry.name);
      let target = path;
      if (entry.isSymbolicLink()) {
        try {
          target = await realpath(path);
        } catch {
          throw new ModelFolderError(`${path} is a broken symlink`);
        }
        if (!roots.some((r) => inside(target, r))) {
          throw new ModelFolderError(`${path} links to ${target}, outside the model folder: copy the file in instead`);
        }
      }
      const info = await lstat(target);
      if (info.isDirectory()) {
        // A symlinked folder inside the root is walked as itself: it was checked above to stay inside.
        if (depth < MAX_DEPTH && inside(target, root)) await walk(target, depth + 1);
      } else if (info.isFile()) sizeBytes += info.size;
    }
  };
  await walk(root, 0);
  return { root, sizeBytes };
}

/**
 * Before a load: a registered folder is checked again as above; a registered GGUF file (stored by its real path when
 * it was added) must still be that plain file, not a folder or a link put in its place since.
 */
export async function checkModelPath(path: string): Promise<void> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    throw new ModelFolderError(`${path} does not exist (${error.code ?? 'unreadable'})`);
  });
  if (info.isDirectory()) {
    await checkFolderContained(path);
    return;
  }
  if (!info.isFile())
    throw new ModelFolderError(`${path} is no longer a plain file (a link or a device was put there)`);
}
