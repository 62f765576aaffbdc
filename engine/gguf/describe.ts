/**
 * A GGUF file in a few words, for model lists (discovery, `plas models list`): architecture, quantization, size,
 * parameters, context length, and whether the engine can run it (and why not). Reads the header only.
 */
import { stat } from 'node:fs/promises';
import { GgufError } from './errors.ts';
import { readGgufModel } from './gguf-model.ts';
import { GgufMetadata } from './metadata.ts';
import type { GgufFile } from './reader.ts';
import { openGgufModel } from './split.ts';

/** llama.cpp's llama_ftype names (general.file_type): what most tensors are. */
export const GGUF_FILE_TYPES: Readonly<Record<number, string>> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  19: 'IQ2_XXS',
  20: 'IQ2_XS',
  21: 'Q2_K_S',
  22: 'IQ3_XS',
  23: 'IQ3_XXS',
  24: 'IQ1_S',
  25: 'IQ4_NL',
  26: 'IQ3_S',
  27: 'IQ3_M',
  28: 'IQ2_S',
  29: 'IQ2_M',
  30: 'IQ4_XS',
  31: 'IQ1_M',
  32: 'BF16',
  36: 'TQ1_0',
  37: 'TQ2_0',
  38: 'MXFP4_MOE',
};

export interface GgufDescription {
  path: string;
  fileSize: number;
  /** general.architecture ("llama", "qwen3", ...), or null when the file has none. */
  architecture: string | null;
  name: string | null;
  /** general.file_type by name ("Q4_K_M"), or the most common tensor type when the file does not say. */
  quantization: string | null;
  /** Tensors by ggml type: { Q4_K: 193, Q6_K: 33, F32: 65 }. */
  tensorTypes: Record<string, number>;
  parameters: number;
  contextLength: number | null;
  /** Whether loadModel can run it; when not, `reason` is the loader's error message. */
  runnable: boolean;
  reason?: string;
}

/**
 * Describes a .gguf file (a split model by any of its parts: sizes and tensors of all parts); a file that is not
 * valid GGUF throws its GgufError.
 */
export async function describeGguf(path: string): Promise<GgufDescription> {
  const file = await openGgufModel(path);
  const m = new GgufMetadata(file);
  const optional = <T>(read: () => T | undefined): T | null => {
    try {
      return read() ?? null;
    } catch (e) {
      if (e instanceof GgufError) return null;
      throw e;
    }
  };
  const architecture = optional(() => m.optionalString('general.architecture'));
  const tensorTypes: Record<string, number> = {};
  let parameters = 0;
  for (const t of file.tensors) {
    tensorTypes[t.ggmlType] = (tensorTypes[t.ggmlType] ?? 0) + 1;
    parameters += t.shape.reduce((a, b) => a * b, 1);
  }
  const fileType = optional(() => m.optionalCount('general.file_type'));
  const quantization = (fileType === null ? undefined : GGUF_FILE_TYPES[fileType]) ?? mostCommon(file);
  const description: GgufDescription = {
    path,
    fileSize: file.parts ? file.fileSize : (await stat(path)).size,
    architecture,
    name: optional(() => m.optionalString('general.name')),
    quantization,
    tensorTypes,
    parameters,
    contextLength: architecture ? optional(() => m.optionalCount(`${architecture}.context_length`)) : null,
    runnable: true,
  };
  try {
    await readGgufModel(path);
  } catch (e) {
    description.runnable = false;
    description.reason = e instanceof Error ? e.message : String(e);
  }
  return description;
}

/** The type of most 2-D tensors' bytes (what a quantization label means), when general.file_type is absent. */
function mostCommon(file: GgufFile): string | null {
  const bytes = new Map<string, number>();
  for (const t of file.tensors)
    if (t.shape.length > 1) bytes.set(t.ggmlType, (bytes.get(t.ggmlType) ?? 0) + t.byteLength);
  let best: string | null = null;
  for (const [type, n] of bytes) if (best === null || n > bytes.get(best)!) best = type;
  return best;
}
