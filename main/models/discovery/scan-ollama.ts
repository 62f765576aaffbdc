/**
 * Ollama's models folder: `manifests/HOST/NAMESPACE/NAME/TAG` are JSON manifests whose layer of mediaType
 * application/vnd.ollama.image.model names the GGUF weights by digest, stored as `blobs/sha256-<hex>`. The digest
 * comes from a file this app does not own: it must be `sha256:` and 64 hex digits, and the blob's real path must stay
 * inside the blobs folder, so no manifest can point discovery at any other file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeGguf } from './describe.ts';
import { entriesOf, realFolder, resolveInside } from './safe-fs.ts';
import type { DiscoveredModel } from './types.ts';

const MODEL_LAYER = 'application/vnd.ollama.image.model';
const DIGEST = /^sha256:([0-9a-f]{64})$/;
/** A manifest is a few hundred bytes; a bigger file is not one. */
const MAX_MANIFEST_BYTES = 1 << 20;

/** "registry.ollama.ai/library/qwen3/0.6b" -> "qwen3:0.6b", as `ollama list` shows it. */
function ollamaName(host: string, namespace: string, model: string, tag: string): string {
  if (host === 'registry.ollama.ai')
    return namespace === 'library' ? `${model}:${tag}` : `${namespace}/${model}:${tag}`;
  return `${host}/${namespace}/${model}:${tag}`;
}

export async function scanOllama(folder: string): Promise<DiscoveredModel[]> {
  const root = await realFolder(folder);
  if (!root) return [];
  const manifests = await realFolder(join(root, 'manifests'));
  const blobs = await realFolder(join(root, 'blobs'));
  if (!manifests || !blobs) return [];
  const found: DiscoveredModel[] = [];
  for (const host of await entriesOf(manifests)) {
    if (!host.isDirectory()) continue;
    for (const ns of await entriesOf(join(manifests, host.name))) {
      if (!ns.isDirectory()) continue;
      for (const model of await entriesOf(join(manifests, host.name, ns.name))) {
        if (!model.isDirectory()) continue;
        for (const tag of await entriesOf(join(manifests, host.name, ns.name, model.name))) {
          const manifest = join(manifests, host.name, ns.name, model.name, tag.name);
          const name = ollamaName(host.name, ns.name, model.name, tag.name);
          const entry = await fromManifest(manifest, manifests, blobs, name);
          if (entry) found.push(entry);
        }
      }
    }
  }
  return found;
}

async function fromManifest(
  manifest: string,
  manifests: string,
  blobs: string,
  name: string,
): Promise<DiscoveredModel | null> {
  const file = await resolveInside(manifest, [manifests]);
  if (!file?.isFile || file.size > MAX_MANIFEST_BYTES) return null;
  const problem = (why: string): DiscoveredModel => ({
    source: 'ollama',
    name,
    path: manifest,
    format: 'gguf',
    architecture: null,
    quantization: null,
    contextLength: null,
    sizeBytes: 0,
    runnable: false,
    problems: [why],
  });
  let layers: unknown;
  try {
    layers = (JSON.parse(await readFile(file.real, 'utf8')) as { layers?: unknown }).layers;
  } catch {
    return problem('its manifest is not valid JSON');
  }
  const layer = Array.isArray(layers)
    ? (layers as { mediaType?: unknown; digest?: unknown }[]).find((l) => l?.mediaType === MODEL_LAYER)
    : undefined;
  if (!layer) return problem(`its manifest lists no model layer (${MODEL_LAYER})`);
  const hex = typeof layer.digest === 'string' ? DIGEST.exec(layer.digest)?.[1] : undefined;
  if (!hex) return problem(`its manifest names the model by ${JSON.stringify(layer.digest)}, not a sha256 digest`);
  const blob = await resolveInside(join(blobs, `sha256-${hex}`), [blobs]);
  if (!blob?.isFile)
    return problem(`its model blob sha256-${hex.slice(0, 12)}… is missing from Ollama's blobs (or links outside them)`);
  return describeGguf({ source: 'ollama', name, path: blob.real }, blob.size);
}
