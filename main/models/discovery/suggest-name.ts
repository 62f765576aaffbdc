/**
 * The name a discovered model is offered under when it is added: the one its tool shows (an Ollama "qwen3:0.6b",
 * a hub id "Qwen/Qwen3-0.6B", a GGUF file's name without .gguf), made a valid registry name and unique.
 */
import { basename } from 'node:path';
import { checkModelName, nameFromFolder } from '../../server/models/model-names.ts';
import type { DiscoveredModel } from './types.ts';

function preferred(m: DiscoveredModel): string {
  if (m.source === 'ollama') return m.name;
  if (m.format === 'gguf') return basename(m.name).replace(/\.gguf$/i, '');
  if (m.source === 'huggingface') return m.name.replace(/@[0-9a-f]+$/, '');
  return basename(m.path);
}

export function suggestName(m: DiscoveredModel, taken: (name: string) => boolean): string {
  const wanted = preferred(m);
  try {
    checkModelName(wanted);
  } catch {
    return nameFromFolder(wanted, taken);
  }
  let name = wanted;
  for (let i = 2; taken(name); i++) name = `${wanted}-${i}`;
  return name;
}
