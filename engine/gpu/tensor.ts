/**
 * A tensor on the GPU: a view of (part of) a buffer with a dtype and a row-major shape. 16-bit tensors are packed two
 * elements per u32, so their innermost dimension must be even where a kernel reads them in pairs.
 */
import { bytesPerElement, type DType } from './dtype.ts';

export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte offset of element 0 in `buffer` (a multiple of 256 when bound on its own). */
  readonly offset: number;
  readonly label: string;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function byteSize(t: Pick<Tensor, 'dtype' | 'shape'>): number {
  return numel(t.shape) * bytesPerElement(t.dtype);
}

export function shapeString(t: Pick<Tensor, 'dtype' | 'shape'>): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

/** Binding size rounded up to 4 bytes, as WebGPU requires (an odd count of 16-bit values still binds whole words). */
export function bindingSize(t: Tensor): number {
  return Math.ceil(byteSize(t) / 4) * 4;
}
