import type { DType } from '../dtype.ts';

/** The WGSL library that gives a kernel weight()/weight2()/weight4() for a weight tensor of `dtype`. */
export function weightsLib(dtype: DType): string {
  if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bf16') throw new Error(`no weight reader for ${dtype}`);
  return `lib/weights_${dtype}.wgsl`;
}
