/**
 * The app's bundled models (resources/models): shipped with the app and never changed by it (gate training refuses
 * to write there). The lexical check is what the model list shows; the write path checks again with realpath, so a
 * link into the resources folder cannot slip past it.
 */
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { RESOURCES } from '../../cli/default-model.ts';

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Whether a registered path lies in the app's resources (as written: for display). */
export function isBundledPath(path: string): boolean {
  return inside(resolve(path), resolve(RESOURCES));
}

/** Whether a folder is (inside) the app's bundled resources once links are resolved: the check before any write. */
export async function isBundled(dir: string): Promise<boolean> {
  const [real, resources] = await Promise.all([realpath(dir), realpath(RESOURCES).catch(() => RESOURCES)]);
  return inside(real, resources);
}
