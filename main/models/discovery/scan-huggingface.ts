/**
 * The Hugging Face hub cache: `models--ORG--NAME/snapshots/REV/...`, each file a symlink into the same repository's
 * `blobs/`. A snapshot with config.json is a safetensors model; each .gguf file in it is a model of its own. A link
 * that resolves outside its repository folder is not followed.
 */
import { join, relative } from 'node:path';
import { describeGgufEntry, describeSafetensors } from './describe.ts';
import { entriesOf, realFolder, resolveInside } from './safe-fs.ts';
import type { DiscoveredModel } from './types.ts';

/** "models--Qwen--Qwen3-0.6B" -> "Qwen/Qwen3-0.6B" (the cache joins the repo id's parts with "--"). */
export function repoIdOf(folder: string): string | null {
  if (!folder.startsWith('models--')) return null;
  const parts = folder.slice('models--'.length).split('--');
  return parts.every((p) => p !== '') ? parts.join('/') : null;
}

export async function scanHuggingface(cache: string): Promise<DiscoveredModel[]> {
  const root = await realFolder(cache);
  if (!root) return [];
  const found: DiscoveredModel[] = [];
  for (const entry of await entriesOf(root)) {
    const repoId = repoIdOf(entry.name);
    if (!repoId || !entry.isDirectory()) continue;
    const repo = join(root, entry.name);
    const snapshots = (await entriesOf(join(repo, 'snapshots'))).filter((s) => s.isDirectory());
    for (const snapshot of snapshots) {
      const dir = join(repo, 'snapshots', snapshot.name);
      const name = snapshots.length > 1 ? `${repoId}@${snapshot.name.slice(0, 8)}` : repoId;
      found.push(...(await scanSnapshot(dir, repo, name)));
    }
  }
  return found;
}

async function scanSnapshot(dir: string, repo: string, name: string): Promise<DiscoveredModel[]> {
  const found: DiscoveredModel[] = [];
  const files = await ggufFiles(dir, 2);
  if ((await resolveInside(join(dir, 'config.json'), [repo]))?.isFile) {
    found.push(await describeSafetensors({ source: 'huggingface', name, path: dir }));
  }
  for (const file of files) {
    const label = `${name}/${relative(dir, file)}`;
    const entry = await describeGgufEntry({ source: 'huggingface', name: label, path: file }, [repo]);
    if (entry) found.push(entry);
  }
  return found;
}

/** The .gguf entries (files or links) of a folder and its subfolders, `depth` levels down; vision projectors skipped. */
export async function ggufFiles(dir: string, depth: number): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await entriesOf(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth > 1) out.push(...(await ggufFiles(path, depth - 1)));
    else if (/\.gguf$/i.test(entry.name) && !/^mmproj/i.test(entry.name) && !entry.isDirectory()) out.push(path);
  }
  return out.sort();
}

/** A model entry whose link leaves the tree it was found in: listed, never followed. */
export function outside(source: DiscoveredModel['source'], name: string, path: string): DiscoveredModel {
  return {
    source,
    name,
    path,
    format: 'gguf',
    architecture: null,
    quantization: null,
    contextLength: null,
    sizeBytes: 0,
    runnable: false,
    problems: ['it is a link that leads outside the folder it was found in (or nowhere): not followed'],
  };
}
