/**
 * A folder the user added: model folders (with config.json) and .gguf files, up to three levels down. Links that
 * resolve outside the folder are not followed.
 */
import { join, relative } from 'node:path';
import { describeGgufEntry, describeSafetensors } from './describe.ts';
import { entriesOf, realFolder, resolveInside } from './safe-fs.ts';
import type { DiscoveredModel } from './types.ts';

const MAX_DEPTH = 3;
/** Folders visited at most per added folder: adding a home folder must not walk the whole disk. */
const MAX_FOLDERS = 2000;

export async function scanFolder(folder: string): Promise<DiscoveredModel[]> {
  const root = await realFolder(folder);
  if (!root) return [];
  const found: DiscoveredModel[] = [];
  let visited = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (++visited > MAX_FOLDERS) return;
    const label = relative(root, dir) || root;
    const entries = await entriesOf(dir);
    if (entries.some((e) => e.name === 'config.json') && (await resolveInside(join(dir, 'config.json'), [root]))) {
      found.push(await describeSafetensors({ source: 'folder', name: label, path: dir }));
      return; // a model folder's subfolders are its own
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth < MAX_DEPTH && !entry.name.startsWith('.')) await walk(path, depth + 1);
      } else if (/\.gguf$/i.test(entry.name) && !/^mmproj/i.test(entry.name)) {
        const name = relative(root, path);
        const entry = await describeGgufEntry({ source: 'folder', name, path }, [root]);
        if (entry) found.push(entry);
      }
    }
  };
  await walk(root, 0);
  return found;
}
