/**
 * Dequantization of ggml's block formats (ggml-common.h / ggml-quants.c dequantize_row_*), the TypeScript twin of
 * the quantized weight readers in shaders/lib/weights_q*.wgsl. Values are computed as ggml does, in f32: each block's
 * f16 scales are widened to f32, multiplied by the integer codes, and (K-quants with mins) the scaled min subtracted.
 *
 * Block layouts (little-endian, byte offsets inside one block):
 *   q8_0 (32 weights, 34 B): d f16 @0; qs i8[32] @2.                             w[j] = d * qs[j]
 *   q4_0 (32 weights, 18 B): d f16 @0; qs u8[16] @2.                             w[j] = d * ((qs[j] & 15) - 8),
 *                                                                                w[j + 16] = d * ((qs[j] >> 4) - 8)
 *   q4_k (256 weights, 144 B): d f16 @0; dmin f16 @2; scales u8[12] @4 (8 six-bit scales and 8 six-bit mins, packed
 *     as get_scale_min_k4); qs u8[128] @16. Weights 64c + l (l < 32) are the low nibbles of qs[32c + l] with
 *     sub-block 2c, weights 64c + 32 + l the high nibbles with sub-block 2c + 1: w = d * sc * q - dmin * m.
 *   q5_k (256 weights, 176 B): as q4_k with qh u8[32] @16 and qs u8[128] @48; the fifth bit of weight 64c + l is
 *     bit 2c of qh[l], of weight 64c + 32 + l bit 2c + 1.
 *   q6_k (256 weights, 210 B): ql u8[128] @0; qh u8[64] @128; scales i8[16] @192; d f16 @208. In half h (128
 *     weights), l < 32: q1 = ql[64h + l] & 15 | (qh[32h + l] & 3) << 4 (weight 128h + l), q2 = ql[64h + 32 + l] & 15
 *     | (qh >> 2 & 3) << 4 (+32), q3 = ql[64h + l] >> 4 | (qh >> 4 & 3) << 4 (+64), q4 = ql[64h + 32 + l] >> 4 |
 *     (qh >> 6) << 4 (+96); w = d * scales[8h + l / 16 + 2i] * (q_i - 32) for q_(i+1).
 */
import { f16BitsToF32 } from '../gpu/dtype.ts';
import { QUANT_BLOCKS, type QuantType, quantBytes } from './types.ts';

const f32 = Math.fround;

function f16At(b: Uint8Array, i: number): number {
  return f16BitsToF32(b[i] | (b[i + 1] << 8));
}

/** get_scale_min_k4: sub-block j's 6-bit scale and min from the 12 packed bytes at `at`. */
export function scaleMinK4(b: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [b[at + j] & 63, b[at + j + 4] & 63];
  const sc = (b[at + j + 4] & 0xf) | ((b[at + j - 4] >> 6) << 4);
  const m = (b[at + j + 4] >> 4) | ((b[at + j] >> 6) << 4);
  return [sc, m];
}

type BlockDecoder = (b: Uint8Array, at: number, out: Float32Array, o: number) => void;

const DECODERS: Record<QuantType, BlockDecoder> = {
  q8_0(b, at, out, o) {
    const d = f16At(b, at);
    for (let j = 0; j < 32; j++) out[o + j] = f32(d * ((b[at + 2 + j] << 24) >> 24));
  },
  q4_0(b, at, out, o) {
    const d = f16At(b, at);
    for (let j = 0; j < 16; j++) {
      const q = b[at + 2 + j];
      out[o + j] = f32(d * ((q & 15) - 8));
      out[o + j + 16] = f32(d * ((q >> 4) - 8));
    }
  },
  q4_k: (b, at, out, o) => dequantizeK45(b, at, out, o, false),
  q5_k: (b, at, out, o) => dequantizeK45(b, at, out, o, true),
  q6_k(b, at, out, o) {
    const d = f16At(b, at + 208);
    const sc = (i: number) => (b[at + 192 + i] << 24) >> 24;
    for (let h = 0; h < 2; h++) {
      const ql = at + 64 * h;
      const qh = at + 128 + 32 * h;
      for (let l = 0; l < 32; l++) {
        const is = 8 * h + (l >> 4);
        const hb = b[qh + l];
        const q1 = ((b[ql + l] & 15) | ((hb & 3) << 4)) - 32;
        const q2 = ((b[ql + 32 + l] & 15) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + 32 + l] >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        const base = o + 128 * h + l;
        out[base] = f32(f32(d * sc(is)) * q1);
        out[base + 32] = f32(f32(d * sc(is + 2)) * q2);
        out[base + 64] = f32(f32(d * sc(is + 4)) * q3);
        out[base + 96] = f32(f32(d * sc(is + 6)) * q4);
      }
    }
  },
};

/** The f32 values of a [rows, cols] tensor of `type` held as ggml blocks in `bytes` (rows back to back). */
export function dequantize(type: QuantType, bytes: Uint8Array, rows: number, cols: number): Float32Array {
  const need = quantBytes(type, rows, cols);
  if (bytes.byteLength < need) {
    throw new RangeError(`${type} [${rows}, ${cols}] needs ${need} bytes, got ${bytes.byteLength}`);
  }
  const { blockElements, blockBytes } = QUANT_BLOCKS[type];
  const blocks = (rows * cols) / blockElements;
  const out = new Float32Array(rows * cols);
  const decode = DECODERS[type];
  for (let i = 0; i < blocks; i++) decode(bytes, i * blockBytes, out, i * blockElements);
  return out;
}

/**
 * Q4_K and Q5_K share their layout: d and dmin (f16), twelve bytes of 6-bit scales and mins for eight 32-value
 * sub-blocks, then the low nibbles (at byte 16, or 48 for Q5_K, whose bytes 16-47 hold each value's fifth bit: bit
 * 2c of byte l for value l of sub-block 2c, bit 2c+1 for sub-block 2c+1).
 */
function dequantizeK45(b: Uint8Array, at: number, out: Float32Array, o: number, fifthBit: boolean): void {
  const d = f16At(b, at);
  const dmin = f16At(b, at + 2);
  const qs = at + (fifthBit ? 48 : 16);
  for (let c = 0; c < 4; c++) {
    const [s1, m1] = scaleMinK4(b, at + 4, 2 * c);
    const [s2, m2] = scaleMinK4(b, at + 4, 2 * c + 1);
    const d1 = f32(d * s1);
    const dm1 = f32(dmin * m1);
    const d2 = f32(d * s2);
    const dm2 = f32(dmin * m2);
    for (let l = 0; l < 32; l++) {
      const q = b[qs + 32 * c + l];
      const h = fifthBit ? b[at + 16 + l] : 0;
      const lo = (q & 15) | (((h >> (2 * c)) & 1) << 4);
      const hi = (q >> 4) | (((h >> (2 * c + 1)) & 1) << 4);
      out[o + 64 * c + l] = f32(f32(d1 * lo) - dm1);
      out[o + 64 * c + 32 + l] = f32(f32(d2 * hi) - dm2);
    }
  }
}
