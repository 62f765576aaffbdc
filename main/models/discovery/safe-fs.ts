/**
 * Reading other tools' folders without being led out of them: every symlink is resolved and kept only when its
 * target stays inside the tree it was found in (a link out of the tree is skipped, never followed), and a folder
 * that cannot be read is simply empty (discovery is a best effort over folders this app does not own).
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';

export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The entries of a folder; none when it is missing or unreadable. */
export async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** The real path of a folder that exists, else null. */
export async function realFolder(path: string): Promise<string | null> {
  try {
    const real = await realpath(path);
    return (await stat(real)).isDirectory() ? real : null;
  } catch {
    return null;
  }
}

export interface Resolved {
  real: string;
  isFile: boolean;
  isDirectory: boolean;
  size: number;
}

/** `path` resolved through its symlinks, when the result stays inside one of `roots` (real paths); else null. */
export async function resolveInside(path: string, roots: string[]): Promise<Resolved | null> {
  try {
    const real = await realpath(path);
    if (!roots.some((root) => isInside(real, root))) return null;
    const info = await stat(real);
    return { real, isFile: info.isFile(), isDirectory: info.isDirectory(), size: info.size };
  } catch {
    return null; // broken link, vanished file, no permission
  }
}
