/**
 * Small GGUF files for the discovery and registry tests, written with the engine's GGUF writer: real headers
 * (metadata, tensor infos, alignment) and zeroed tensor data of each type's size. A fixture with `model` is a complete
 * tiny model the loader accepts (its hyperparameters, a byte-level vocabulary, every tensor of the shape: see
 * engine/gguf/synthetic-model.ts); without it, a bare header that only looks like a model.
 */
import { ggmlTypeByName, ggmlTypeOf } from '../../../engine/gguf/ggml-types.ts';
import { type SyntheticShape, syntheticMetadata, syntheticTensors } from '../../../engine/gguf/synthetic-model.ts';
import type { GgufValue } from '../../../engine/gguf/values.ts';
import { type GgufToWrite, writeGguf as writeFile, writeGgufSplit } from '../../../engine/gguf/writer.ts';

export interface FixtureTensor {
  name: string;
  /** Hugging Face order: [rows, cols]. */
  shape: number[];
  /** ggml's name: "Q4_K", "F32", "Q2_K". */
  type: string;
}

export interface FixtureOptions {
  architecture: string;
  /** llama_ftype: 15 = Q4_K_M, 1 = F16, 10 = Q2_K... */
  fileType?: number;
  contextLength?: number;
  /** The tensors, in order; a later one of the same name replaces an earlier one. */
  tensors: FixtureTensor[];
  /** false: no tokenizer.ggml.* keys. */
  tokenizer?: boolean;
  /** A complete model of this shape: its hyperparameters and vocabulary are written too. */
  model?: SyntheticShape;
}

/** The metadata and zeroed tensors of a fixture. */
function fixtureFile(options: FixtureOptions): GgufToWrite {
  const metadata: [string, GgufValue][] = [['general.architecture', { type: 'string', value: options.architecture }]];
  if (options.model) {
    // The shape's hyperparameters and vocabulary; file type and context length as the options say.
    const overridden = new Set(['general.architecture', 'general.file_type', `${options.architecture}.context_length`]);
    metadata.push(...syntheticMetadata(options.model, 'q4_k_m', 'tiny').filter(([k]) => !overridden.has(k)));
  }
  if (options.fileType !== undefined) metadata.push(['general.file_type', { type: 'u32', value: options.fileType }]);
  if (options.contextLength !== undefined) {
    metadata.push([`${options.architecture}.context_length`, { type: 'u32', value: options.contextLength }]);
  }
  if (options.tokenizer !== false && !options.model) {
    metadata.push(['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }]);
    metadata.push(['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', items: ['a', 'b', 'c'] }]);
  }
  const byName = new Map(options.tensors.map((t) => [t.name, t]));
  const tensors = [...byName.values()].map((t) => {
    const info = ggmlTypeByName(t.type);
    if (!info) throw new RangeError(`no ggml type ${t.type}`);
    const elements = t.shape.reduce((a, b) => a * b, 1);
    return {
      name: t.name,
      shape: t.shape,
      type: info.id,
      data: new Uint8Array((elements / info.blockElements) * info.blockBytes),
    };
  });
  return { metadata, tensors };
}

export async function writeGguf(path: string, options: FixtureOptions): Promise<void> {
  await writeFile(path, fixtureFile(options));
}

/** The fixture split in `parts` files as gguf-split writes them (`<prefix>-00001-of-0000N.gguf`...); returns the paths. */
export function writeSplitGguf(prefix: string, options: FixtureOptions, parts: number): Promise<string[]> {
  return writeGgufSplit(prefix, fixtureFile(options), parts);
}

/** A tiny Llama: every row whole K-quant blocks; ffn_up [1024, 256]. */
export const TINY_LLAMA: SyntheticShape = {
  architecture: 'llama',
  vocab: 320,
  hidden: 256,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  headDim: 128,
  intermediate: 1024,
  contextLength: 4096,
  tiedEmbeddings: false,
};

/** A complete tiny Llama in Q4_K_M as llama.cpp writes it: Q4_K matrices, Q6_K output (and attn_v/ffn_down), F32 norms. */
export const LLAMA_Q4_K_M: FixtureOptions = {
  architecture: 'llama',
  fileType: 15,
  contextLength: 4096,
  model: TINY_LLAMA,
  tensors: syntheticTensors(TINY_LLAMA, 'q4_k_m').map((t) => ({
    name: t.name,
    shape: t.shape,
    type: ggmlTypeOf(t.type).name,
  })),
};
