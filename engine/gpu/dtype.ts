/**
 * Element types of tensors and their bit conversions. 16-bit tensors live on the GPU packed two per u32 (element 2i in
 * the low half), so the same WGSL runs with and without the `shader-f16` feature. Quantized weights (engine/quant/)
 * live on the GPU as their ggml block bytes, back to back, padded to whole words (see engine/quant/types.ts).
 */
import { isQuantType, type QuantType } from '../quant/types.ts';

/** Float types hold weights and activations; u32/i32 hold token ids, positions, block tables and selections. */
export type FloatDType = 'f32' | 'f16' | 'bf16';
/** Quantized types are weight-only: [rows, cols] tensors of whole blocks, read by the weight libraries. */
export type DType = FloatDType | QuantType | 'u32' | 'i32';
export const FLOAT_DTYPES: readonly FloatDType[] = ['f32', 'f16', 'bf16'];

/** Bytes of one element; a quantized type has no per-element size (use tensor.ts byteSize or quantBytes). */
export function bytesPerElement(dtype: DType): number {
  if (isQuantType(dtype)) throw new RangeError(`${dtype} has no per-element size: its elements are packed in blocks`);
  return dtype === 'f16' || dtype === 'bf16' ? 2 : 4;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f32 -> bf16 bits, round to nearest even (as torch does); NaN stays NaN. */
export function f32ToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const bits = u32Scratch[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0];
}

/** f32 -> IEEE half bits, round to nearest even, with subnormals, overflow to infinity and NaN kept. */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encode f32 values as the raw bytes of `dtype` (what a safetensors file or a GPU buffer holds). */
export function encodeValues(values: ArrayLike<number>, dtype: DType): Uint8Array {
  if (isQuantType(dtype))
    throw new RangeError(`encodeValues cannot write ${dtype}: quantize with engine/quant/quantize.ts`);
  if (dtype === 'f32') return new Uint8Array(Float32Array.from(values).buffer);
  if (dtype === 'u32') return new Uint8Array(Uint32Array.from(values).buffer);
  if (dtype === 'i32') return new Uint8Array(Int32Array.from(values).buffer);
  const toBits = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toBits(values[i]);
  return new Uint8Array(out.buffer);
}

/** Decode raw bytes of a float dtype to f32 values. */
export function decodeValues(bytes: Uint8Array, dtype: FloatDType): Float32Array {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (dtype === 'f32') return new Float32Array(copy);
  const bits = new Uint16Array(copy);
  const fromBits = dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromBits(bits[i]);
  return out;
}

/** Round f32 values to what `dtype` can hold (the twin of storing them in that dtype and reading them back). */
export function roundToDType(values: Float32Array, dtype: FloatDType): Float32Array {
  return dtype === 'f32' ? values : decodeValues(encodeValues(values, dtype), dtype);
}
