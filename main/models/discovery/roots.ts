/**
 * Where other tools keep their models, as they decide it themselves: the environment variables they honour, else
 * their defaults under the home folder. Host words (env vars, home paths) live here, never in engine/.
 *   Hugging Face: HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
 *   LM Studio:    ~/.lmstudio/models, and the older ~/.cache/lm-studio/models
 *   Ollama:       OLLAMA_MODELS, else ~/.ollama/models
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DiscoveryRoots } from './types.ts';

export function huggingfaceCache(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'huggingface', 'hub');
}

export function discoveryRoots(
  folders: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
): DiscoveryRoots {
  return {
    huggingface: [huggingfaceCache(env, home)],
    lmstudio: [join(home, '.lmstudio', 'models'), join(home, '.cache', 'lm-studio', 'models')],
    ollama: [env.OLLAMA_MODELS || join(home, '.ollama', 'models')],
    folders,
  };
}
