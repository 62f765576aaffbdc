/**
 * ggml's tensor types as numbered in GGUF files (ggml.h, enum ggml_type), with each type's block layout: a row of
 * `ne[0]` elements is `ne[0] / blockElements` blocks of `blockBytes` bytes. Every type is listed, runnable or not, so
 * the reader can check any file's byte ranges and name the type it cannot run; `dtype` is set for the types the
 * engine runs (engine/quant/types.ts).
 */
import type { WeightDType } from '../quant/types.ts';

export interface GgmlTypeInfo {
  id: number;
  /** ggml's name, as llama.cpp prints it: "Q4_K", "BF16". */
  name: string;
  blockElements: number;
  blockBytes: number;
  dtype?: WeightDType;
}

const TYPES: GgmlTypeInfo[] = [
  { id: 0, name: 'F32', blockElements: 1, blockBytes: 4, dtype: 'f32' },
  { id: 1, name: 'F16', blockElements: 1, blockBytes: 2, dtype: 'f16' },
  { id: 2, name: 'Q4_0', blockElements: 32, blockBytes: 18, dtype: 'q4_0' },
  { id: 3, name: 'Q4_1', blockElements: 32, blockBytes: 20 },
  { id: 6, name: 'Q5_0', blockElements: 32, blockBytes: 22 },
  { id: 7, name: 'Q5_1', blockElements: 32, blockBytes: 24 },
  { id: 8, name: 'Q8_0', blockElements: 32, blockBytes: 34, dtype: 'q8_0' },
  { id: 9, name: 'Q8_1', blockElements: 32, blockBytes: 36 },
  { id: 10, name: 'Q2_K', blockElements: 256, blockBytes: 84 },
  { id: 11, name: 'Q3_K', blockElements: 256, blockBytes: 110 },
  { id: 12, name: 'Q4_K', blockElements: 256, blockBytes: 144, dtype: 'q4_k' },
  { id: 13, name: 'Q5_K', blockElements: 256, blockBytes: 176, dtype: 'q5_k' },
  { id: 14, name: 'Q6_K', blockElements: 256, blockBytes: 210, dtype: 'q6_k' },
  { id: 15, name: 'Q8_K', blockElements: 256, blockBytes: 292 },
  { id: 16, name: 'IQ2_XXS', blockElements: 256, blockBytes: 66 },
  { id: 17, name: 'IQ2_XS', blockElements: 256, blockBytes: 74 },
  { id: 18, name: 'IQ3_XXS', blockElements: 256, blockBytes: 98 },
  { id: 19, name: 'IQ1_S', blockElements: 256, blockBytes: 50 },
  { id: 20, name: 'IQ4_NL', blockElements: 32, blockBytes: 18 },
  { id: 21, name: 'IQ3_S', blockElements: 256, blockBytes: 110 },
  { id: 22, name: 'IQ2_S', blockElements: 256, blockBytes: 82 },
  { id: 23, name: 'IQ4_XS', blockElements: 256, blockBytes: 136 },
  { id: 24, name: 'I8', blockElements: 1, blockBytes: 1 },
  { id: 25, name: 'I16', blockElements: 1, blockBytes: 2 },
  { id: 26, name: 'I32', blockElements: 1, blockBytes: 4 },
  { id: 27, name: 'I64', blockElements: 1, blockBytes: 8 },
  { id: 28, name: 'F64', blockElements: 1, blockBytes: 8 },
  { id: 29, name: 'IQ1_M', blockElements: 256, blockBytes: 56 },
  { id: 30, name: 'BF16', blockElements: 1, blockBytes: 2, dtype: 'bf16' },
  { id: 34, name: 'TQ1_0', blockElements: 256, blockBytes: 54 },
  { id: 35, name: 'TQ2_0', blockElements: 256, blockBytes: 66 },
  { id: 39, name: 'MXFP4', blockElements: 32, blockBytes: 17 },
];

/** Ids ggml once used and removed; files that still carry them must be converted again. */
const REMOVED: Record<number, string> = {
  4: 'Q4_2',
  5: 'Q4_3',
  31: 'Q4_0_4_4',
  32: 'Q4_0_4_8',
  33: 'Q4_0_8_8',
  36: 'IQ4_NL_4_4',
  37: 'IQ4_NL_4_8',
  38: 'IQ4_NL_8_8',
};

const BY_ID = new Map(TYPES.map((t) => [t.id, t]));
const BY_DTYPE = new Map(TYPES.filter((t) => t.dtype).map((t) => [t.dtype!, t]));

export const GGML_TYPES: readonly GgmlTypeInfo[] = TYPES;

export function ggmlType(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** Why an id is not a type: removed from ggml (named), or never defined. */
export function unknownGgmlType(id: number): string {
  const removed = REMOVED[id];
  return removed
    ? `ggml type ${id} (${removed}) was removed from ggml; convert the model again with a current llama.cpp`
    : `unknown ggml type ${id}`;
}

export function ggmlTypeOf(dtype: WeightDType): GgmlTypeInfo {
  return BY_DTYPE.get(dtype)!;
}

export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  return TYPES.find((t) => t.name === name);
}

/** The names of the types the engine runs, for messages. */
export const RUNNABLE_GGML_TYPES = TYPES.filter((t) => t.dtype).map((t) => t.name);
