/**
 * GGUF models of a real model's shape with random weights, for benchmarks at real size (`plas bench quant-model`)
 * and their tests at tiny size: every tensor a real file of that shape has, in the types llama.cpp gives it for a
 * file type (Q4_K_M's mix of Q4_K and Q6_K, or all F16), random but valid blocks (engine/quant/random-blocks.ts), F32
 * norms near 1, and a synthetic byte-level vocabulary of the model's size (256 byte tokens, two end-of-turn control
 * tokens, the rest placeholders), so the Engine loads and runs it like any GGUF model. Tensors are made one at a time
 * as the file is written: a 1.2 GB model never sits whole in memory.
 */
import { encodeValues } from '../gpu/dtype.ts';
import { randomF16Tensor, randomQuantTensor, Xorshift32 } from '../quant/random-blocks.ts';
import { isQuantType, type WeightDType } from '../quant/types.ts';
import { ggmlTypeOf } from './ggml-types.ts';
import { type GgufValue, gguf } from './values.ts';
import { type GgufTensorToWrite, writeGguf, writeGgufSplit } from './writer.ts';

export interface SyntheticShape {
  architecture: 'qwen3' | 'llama';
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  contextLength: number;
  /** The LM head is the embedding (no output.weight), as in Qwen3-0.6B. */
  tiedEmbeddings: boolean;
}

/** Qwen3-0.6B's shape (config.json of Qwen/Qwen3-0.6B), with its 151,936-token vocabulary. */
export const QWEN3_0_6B_SHAPE: SyntheticShape = {
  architecture: 'qwen3',
  vocab: 151936,
  hidden: 1024,
  layers: 28,
  heads: 16,
  kvHeads: 8,
  headDim: 128,
  intermediate: 3072,
  contextLength: 40960,
  tiedEmbeddings: true,
};

/** What the weight matrices are: llama.cpp's Q4_K_M mix, or every matrix in one type. */
export type SyntheticMix = 'q4_k_m' | Exclude<WeightDType, 'f32' | 'bf16'>;

/** llama_ftype of each mix (general.file_type). */
const FILE_TYPE: Record<SyntheticMix, number> = { q4_k_m: 15, f16: 1, q8_0: 7, q4_0: 2, q4_k: 15, q5_k: 17, q6_k: 18 };

/** llama.cpp's use_more_bits (llama-quant.cpp): the layers Q4_K_M gives Q6_K for attn_v and ffn_down. */
export function useMoreBits(layer: number, layers: number): boolean {
  return layer < layers / 8 || layer >= (7 * layers) / 8 || (layer - Math.floor(layers / 8)) % 3 === 2;
}

export interface SyntheticTensor {
  /** llama.cpp's name. */
  name: string;
  /** Hugging Face order ([rows, cols]). */
  shape: number[];
  type: WeightDType;
}

/** Every tensor of the model, with its type under `mix` (llama_tensor_get_type's rules for Q4_K_M). */
export function syntheticTensors(shape: SyntheticShape, mix: SyntheticMix): SyntheticTensor[] {
  const s = shape;
  const matrix = (name: string, rows: number, cols: number, layer?: number): SyntheticTensor => {
    let type: WeightDType = mix === 'q4_k_m' ? 'q4_k' : mix;
    if (mix === 'q4_k_m') {
      const head = name === 'output.weight' || (s.tiedEmbeddings && name === 'token_embd.weight');
      const moreBits = layer !== undefined && /attn_v|ffn_down/.test(name) && useMoreBits(layer, s.layers);
      if (head || moreBits) type = 'q6_k';
    }
    return { name, shape: [rows, cols], type };
  };
  const norm = (name: string, n: number): SyntheticTensor => ({ name, shape: [n], type: 'f32' });
  const out: SyntheticTensor[] = [matrix('token_embd.weight', s.vocab, s.hidden), norm('output_norm.weight', s.hidden)];
  if (!s.tiedEmbeddings) out.push(matrix('output.weight', s.vocab, s.hidden));
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  for (let i = 0; i < s.layers; i++) {
    const b = `blk.${i}`;
    out.push(
      norm(`${b}.attn_norm.weight`, s.hidden),
      matrix(`${b}.attn_q.weight`, q, s.hidden, i),
      matrix(`${b}.attn_k.weight`, kv, s.hidden, i),
      matrix(`${b}.attn_v.weight`, kv, s.hidden, i),
      matrix(`${b}.attn_output.weight`, s.hidden, q, i),
    );
    if (s.architecture === 'qwen3') {
      out.push(norm(`${b}.attn_q_norm.weight`, s.headDim), norm(`${b}.attn_k_norm.weight`, s.headDim));
    }
    out.push(
      norm(`${b}.ffn_norm.weight`, s.hidden),
      matrix(`${b}.ffn_gate.weight`, s.intermediate, s.hidden, i),
      matrix(`${b}.ffn_up.weight`, s.intermediate, s.hidden, i),
      matrix(`${b}.ffn_down.weight`, s.hidden, s.intermediate, i),
    );
  }
  return out;
}

/** GPT-2's bytes_to_unicode: the printable character byte-level BPE shows for each byte. */
function byteTokens(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

export const SYNTHETIC_EOS = ['<|endoftext|>', '<|im_end|>'];

/** A byte-level ("gpt2") vocabulary of `size` tokens: bytes, the end tokens, then placeholders. */
function tokenizerMetadata(s: SyntheticShape): [string, GgufValue][] {
  const bytes = byteTokens();
  if (s.vocab < bytes.length + SYNTHETIC_EOS.length) {
    throw new RangeError(`synthetic vocab must hold at least ${bytes.length + SYNTHETIC_EOS.length} tokens`);
  }
  const tokens = [...bytes, ...SYNTHETIC_EOS];
  for (let i = tokens.length; i < s.vocab; i++) tokens.push(`<t${i}>`);
  const types = new Int32Array(s.vocab).fill(1);
  types[bytes.length] = types[bytes.length + 1] = 3; // control
  return [
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.pre', gguf.string(s.architecture === 'llama' ? 'llama-bpe' : 'qwen2')],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.token_type', gguf.array('i32', types)],
    ['tokenizer.ggml.merges', gguf.strings([])],
    ['tokenizer.ggml.eos_token_id', gguf.u32(bytes.length + 1)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(false)],
  ];
}

export function syntheticMetadata(s: SyntheticShape, mix: SyntheticMix, name: string): [string, GgufValue][] {
  const key = (k: string) => `${s.architecture}.${k}`;
  const meta: [string, GgufValue][] = [
    ['general.architecture', gguf.string(s.architecture)],
    ['general.type', gguf.string('model')],
    ['general.name', gguf.string(name)],
    [key('context_length'), gguf.u32(s.contextLength)],
    [key('embedding_length'), gguf.u32(s.hidden)],
    [key('feed_forward_length'), gguf.u32(s.intermediate)],
    [key('block_count'), gguf.u32(s.layers)],
    [key('attention.head_count'), gguf.u32(s.heads)],
    [key('attention.head_count_kv'), gguf.u32(s.kvHeads)],
    [key('attention.key_length'), gguf.u32(s.headDim)],
    [key('attention.value_length'), gguf.u32(s.headDim)],
    [key('rope.freq_base'), gguf.f32(1000000)],
    [key('attention.layer_norm_rms_epsilon'), gguf.f32(1e-6)],
    ['general.file_type', gguf.u32(FILE_TYPE[mix])],
  ];
  if (mix !== 'f16') meta.push(['general.quantization_version', gguf.u32(2)]);
  return [...meta, ...tokenizerMetadata(s)];
}

/** The bytes of one tensor: weights ~ N(0, 1/cols) (embedding rows ~ N(0, 1)), norms near 1. */
function tensorData(t: SyntheticTensor, seed: number): Uint8Array {
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.shape.length === 1) {
    const rng = new Xorshift32(seed);
    return encodeValues(
      Float32Array.from({ length: count }, () => 1 + ((rng.next() % 1000) / 1000 - 0.5) * 0.1),
      'f32',
    );
  }
  const [rows, cols] = t.shape;
  const std = t.name === 'token_embd.weight' ? 1 : 1 / Math.sqrt(cols);
  if (isQuantType(t.type)) return randomQuantTensor(t.type, rows, cols, std, seed);
  if (t.type !== 'f16') throw new RangeError(`synthetic models have f16 or quantized matrices, not ${t.type}`);
  return randomF16Tensor(count, std, seed);
}

export interface SyntheticModelOptions {
  shape: SyntheticShape;
  mix: SyntheticMix;
  seed?: number;
  /** general.name; default "synthetic <arch> <mix>". */
  name?: string;
  /** Write it split in this many parts, as gguf-split does (`path` without .gguf + `-0000i-of-0000n.gguf`). */
  split?: number;
  onProgress?: (writtenBytes: number, totalBytes: number) => void;
}

/** Writes the model to `path` (tensor by tensor), or its split parts; returns the paths written. */
export async function writeSyntheticGguf(path: string, options: SyntheticModelOptions): Promise<string[]> {
  const { shape, mix } = options;
  const seed = options.seed ?? 1;
  const tensors: GgufTensorToWrite[] = syntheticTensors(shape, mix).map((t, i) => ({
    name: t.name,
    shape: t.shape,
    type: t.type,
    data: () => tensorData(t, (seed * 7919 + i * 104729) >>> 0),
  }));
  const name = options.name ?? `synthetic ${shape.architecture} ${mix}`;
  const input = {
    metadata: syntheticMetadata(shape, mix, name),
    tensors,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  if (options.split !== undefined) return writeGgufSplit(path.replace(/\.gguf$/i, ''), input, options.split);
  await writeGguf(path, input);
  return [path];
}

/** Bytes of the model's tensors (what the loader uploads), for sizes shown before writing. */
export function syntheticTensorBytes(shape: SyntheticShape, mix: SyntheticMix): number {
  let total = 0;
  for (const t of syntheticTensors(shape, mix)) {
    const { blockElements, blockBytes } = ggmlTypeOf(t.type);
    total += (t.shape.reduce((a, b) => a * b, 1) / blockElements) * blockBytes;
  }
  return total;
}
