import { isQuantType, QUANT_TYPES } from '../../quant/types.ts';
import { type DType, FLOAT_DTYPES } from '../dtype.ts';
import type { Tensor } from '../tensor.ts';

/** The WGSL library that gives a kernel weight()/weight2()/weight4() for a float weight tensor of `dtype`. */
export function weightsLib(dtype: DType): string {
  if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bf16') throw new Error(`no weight reader for ${dtype}`);
  return `lib/weights_${dtype}.wgsl`;
}

/**
 * The WGSL libraries that give a kernel weight()/weight2()/weight4() for a weight tensor of any weight dtype: the float
 * reader, or for a quantized type the byte reads (lib/quant_bytes.wgsl), the K-quants' 6-bit scales where the type
 * has them, and the type's block decoder (lib/weights_<type>.wgsl), which dequantizes in registers.
 */
export function weightsLibs(dtype: DType): string[] {
  switch (dtype) {
    case 'q8_0':
    case 'q4_0':
    case 'q6_k':
      return ['lib/quant_bytes.wgsl', `lib/weights_${dtype}.wgsl`];
    case 'q4_k':
    case 'q5_k':
      return ['lib/quant_bytes.wgsl', 'lib/quant_k_scales.wgsl', `lib/weights_${dtype}.wgsl`];
    default:
      return [weightsLib(dtype)];
  }
}

/** The libraries of the decode kernels (matvec, matvec_subgroup): the weight reader, the bias reader and the row
 * work, which for quantized weights walks whole 32-weight runs (lib/matvec_rows_quant.wgsl). */
export function matvecLibs(dtype: DType): string[] {
  const rows = isQuantType(dtype) ? 'lib/matvec_rows_quant.wgsl' : 'lib/matvec_rows.wgsl';
  return [...weightsLibs(dtype), 'lib/bias.wgsl', rows];
}

/** The dtypes a weight argument may have, for the argument check: quantized types for a quantized tensor, else the
 * float types (so a float kernel's message lists what a float caller can pass). */
export function weightDTypes(t: Tensor | undefined): readonly DType[] {
  return t && isQuantType(t.dtype) ? QUANT_TYPES : FLOAT_DTYPES;
}
