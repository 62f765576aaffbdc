/**
 * LM Studio's models folder: `PUBLISHER/MODEL/*.gguf` (and a safetensors folder where a MODEL folder has
 * config.json). Links that resolve outside the models folder are not followed.
 */
import { join, relative } from 'node:path';
import { describeGgufEntry, describeSafetensors } from './describe.ts';
import { entriesOf, realFolder, resolveInside } from './safe-fs.ts';
import { ggufFiles } from './scan-huggingface.ts';
import type { DiscoveredModel } from './types.ts';

export async function scanLmStudio(folder: string): Promise<DiscoveredModel[]> {
  const root = await realFolder(folder);
  if (!root) return [];
  const found: DiscoveredModel[] = [];
  for (const publisher of await entriesOf(root)) {
    if (!publisher.isDirectory()) continue;
    for (const model of await entriesOf(join(root, publisher.name))) {
      if (!model.isDirectory()) continue;
      const dir = join(root, publisher.name, model.name);
      const name = `${publisher.name}/${model.name}`;
      if ((await resolveInside(join(dir, 'config.json'), [root]))?.isFile) {
        found.push(await describeSafetensors({ source: 'lmstudio', name, path: dir }));
      }
      for (const file of await ggufFiles(dir, 2)) {
        const label = `${name}/${relative(dir, file)}`;
        const entry = await describeGgufEntry({ source: 'lmstudio', name: label, path: file }, [root]);
        if (entry) found.push(entry);
      }
    }
  }
  return found;
}
