/**
 * Discovery: the models already on this computer, in the Hugging Face cache, LM Studio's and Ollama's folders and
 * the folders the user added. Read-only: nothing is copied, moved or written; adding one registers it where it is.
 */
import { discoveryRoots } from './roots.ts';
import { scanFolder } from './scan-folder.ts';
import { scanHuggingface } from './scan-huggingface.ts';
import { scanLmStudio } from './scan-lmstudio.ts';
import { scanOllama } from './scan-ollama.ts';
import type { DiscoveredModel, DiscoveryRoots } from './types.ts';

export type { DiscoveredModel, DiscoveryRoots } from './types.ts';

export async function discoverModels(roots: DiscoveryRoots = discoveryRoots()): Promise<DiscoveredModel[]> {
  const groups = await Promise.all([
    ...roots.huggingface.map(scanHuggingface),
    ...roots.lmstudio.map(scanLmStudio),
    ...roots.ollama.map(scanOllama),
    ...roots.folders.map(scanFolder),
  ]);
  // The same file reached twice (an added folder inside LM Studio's, say) is listed once, where first found.
  const seen = new Set<string>();
  return groups.flat().filter((m) => !seen.has(m.path) && seen.add(m.path));
}
