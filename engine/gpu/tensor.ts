/**
 * A tensor on the GPU: a view of (part of) a buffer with a dtype and a row-major shape. 16-bit tensors are packed two
 * elements per u32, so their innermost dimension must be even where a kernel reads them in pairs. Quantized weight
 * tensors hold ggml blocks (engine/quant/types.ts). A weight larger than one storage binding is split by rows into
 * `parts`, each its own buffer; only the kernels that take such weights (embedding, linear) accept them.
 */

import { isQuantType, quantBytes } from '../quant/types.ts';
import { bytesPerElement, type DType } from './dtype.ts';

export interface Tensor {
  /** The buffer (of the first part, for a split tensor). */
  readonly buffer: GPUBuffer;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte offset of element 0 in `buffer` (a multiple of 256 when bound on its own). */
  readonly offset: number;
  readonly label: string;
  /** Row ranges of a tensor split across buffers (rows rowStart ..< rowStart + part.shape[0]), in order. */
  readonly parts?: readonly TensorPart[];
}

export interface TensorPart {
  rowStart: number;
  tensor: Tensor;
}

/** Every buffer a tensor owns (its parts' when split): what freeing it destroys. */
export function tensorBuffers(t: Tensor): GPUBuffer[] {
  return t.parts ? t.parts.map((p) => p.tensor.buffer) : [t.buffer];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function byteSize(t: Pick<Tensor, 'dtype' | 'shape'>): number {
  if (isQuantType(t.dtype)) {
    const cols = t.shape[t.shape.length - 1] ?? 1;
    return quantBytes(t.dtype, numel(t.shape) / cols, cols);
  }
  return numel(t.shape) * bytesPerElement(t.dtype);
}

export function shapeString(t: Pick<Tensor, 'dtype' | 'shape'>): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

/** Binding size rounded up to 4 bytes, as WebGPU requires (an odd count of 16-bit values still binds whole words). */
export function bindingSize(t: Tensor): number {
  return Math.ceil(byteSize(t) / 4) * 4;
}
