/**
 * Loads WGSL from shaders/. A kernel's source is its own file, optionally preceded by library modules from
 * shaders/lib/ (the dtype-specific weight loaders, shared reductions) that the launcher picks per variant.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHADER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shaders');

const cache = new Map<string, string>();

export function readShader(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(join(SHADER_DIR, file), 'utf8');
    cache.set(file, text);
  }
  return text;
}

export interface ShaderSpec {
  /** The kernel's own file, e.g. 'rmsnorm.wgsl'. */
  file: string;
  /** Library files placed before it, e.g. ['lib/weights_f16.wgsl']. */
  libs?: readonly string[];
  /** Extensions to enable at the top, e.g. ['subgroups']. */
  enables?: readonly string[];
}

export function composeShader(spec: ShaderSpec): string {
  const enables = (spec.enables ?? []).map((e) => `enable ${e};\n`).join('');
  const libs = (spec.libs ?? []).map((lib) => `// ---- ${lib}\n${readShader(lib)}`).join('\n');
  return `${enables}${libs}\n// ---- ${spec.file}\n${readShader(spec.file)}`;
}
