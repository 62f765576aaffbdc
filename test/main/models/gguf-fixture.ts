/**
 * Small GGUF files for the discovery and registry tests, written with the engine's GGUF writer: real headers
 * (metadata, tensor infos, alignment) and zeroed tensor data of each type's size.
 */
import { ggmlTypeByName } from '../../../engine/gguf/ggml-types.ts';
import type { GgufValue } from '../../../engine/gguf/values.ts';
import { writeGguf as writeFile } from '../../../engine/gguf/writer.ts';

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
  tensors: FixtureTensor[];
  /** false: no tokenizer.ggml.* keys. */
  tokenizer?: boolean;
}

export async function writeGguf(path: string, options: FixtureOptions): Promise<void> {
  const metadata: [string, GgufValue][] = [['general.architecture', { type: 'string', value: options.architecture }]];
  if (options.fileType !== undefined) metadata.push(['general.file_type', { type: 'u32', value: options.fileType }]);
  if (options.contextLength !== undefined) {
    metadata.push([`${options.architecture}.context_length`, { type: 'u32', value: options.contextLength }]);
  }
  if (options.tokenizer !== false) {
    metadata.push(['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }]);
    metadata.push(['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', items: ['a', 'b', 'c'] }]);
  }
  const tensors = options.tensors.map((t) => {
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
  await writeFile(path, { metadata, tensors });
}

/** A Llama in Q4_K_M as llama.cpp writes it: Q4_K matrices, a Q6_K output, f32 norms. */
export const LLAMA_Q4_K_M: FixtureOptions = {
  architecture: 'llama',
  fileType: 15,
  contextLength: 4096,
  tensors: [
    { name: 'token_embd.weight', shape: [8, 256], type: 'Q4_K' },
    { name: 'blk.0.attn_q.weight', shape: [256, 256], type: 'Q4_K' },
    { name: 'output.weight', shape: [8, 256], type: 'Q6_K' },
    { name: 'output_norm.weight', shape: [256], type: 'F32' },
  ],
};
