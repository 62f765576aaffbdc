/**
 * The quantized weight types PLAS Studio runs, in ggml's block layouts (as in GGUF files): a tensor of such a type is
 * a sequence of fixed-size blocks, each holding `blockElements` weights of one row in `blockBytes` bytes. Rows are
 * whole blocks (a row's length is a multiple of blockElements), and the GPU holds the blocks as they are in the file.
 */
import type { FloatDType } from '../gpu/dtype.ts';

export type QuantType = 'q8_0' | 'q4_0' | 'q4_k' | 'q5_k' | 'q6_k';

/** What a weight tensor may be on disk and on the GPU: a float type, or quantized blocks. */
export type WeightDType = FloatDType | QuantType;

export const QUANT_TYPES: readonly QuantType[] = ['q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'];

/** Every type a weight tensor may have on the GPU (written out: importing FLOAT_DTYPES would make an import cycle). */
export const WEIGHT_DTYPES: readonly WeightDType[] = ['f32', 'f16', 'bf16', ...QUANT_TYPES];

/** ggml's block sizes: QK8_0 = QK4_0 = 32; the K-quants' super-blocks QK_K = 256. */
export const QUANT_BLOCKS: Record<QuantType, { blockElements: number; blockBytes: number }> = {
  q8_0: { blockElements: 32, blockBytes: 34 }, // f16 scale + 32 x i8
  q4_0: { blockElements: 32, blockBytes: 18 }, // f16 scale + 16 bytes of 4-bit values
  q4_k: { blockElements: 256, blockBytes: 144 }, // f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
  q5_k: { blockElements: 256, blockBytes: 176 }, // as q4_k + 32 bytes of high bits
  q6_k: { blockElements: 256, blockBytes: 210 }, // 128 bytes low nibbles, 64 bytes high 2 bits, 16 x i8 scales, f16 d
};

export const isQuantType = (t: string): t is QuantType => (QUANT_TYPES as readonly string[]).includes(t);

/** Bytes of a [rows, cols] tensor of `type` (cols a multiple of the block's elements). */
export function quantBytes(type: QuantType, rows: number, cols: number): number {
  const { blockElements, blockBytes } = QUANT_BLOCKS[type];
  if (cols % blockElements !== 0)
    throw new RangeError(`${type} rows must be a multiple of ${blockElements} (got ${cols})`);
  return rows * (cols / blockElements) * blockBytes;
}
