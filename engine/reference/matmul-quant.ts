/**
 * TypeScript twins of the quantized paths of shaders/matvec.wgsl, matvec_subgroup.wgsl, matmul_tiled.wgsl and
 * embedding.wgsl (built with lib/weights_<type>.wgsl): the weights are the ggml blocks' values as
 * engine/quant/dequantize.ts computes them (ggml's dequantize_row_*), then the float twins apply.
 */
import { dequantize } from '../quant/dequantize.ts';
import type { QuantType } from '../quant/types.ts';
import { embedding } from './embedding.ts';
import { matmul } from './matmul.ts';

/** out = x @ w^T (+ bias) with w the [N, K] tensor of `type` held in `blocks`; returns [M, N]. */
export function matmulQuant(
  x: Float32Array,
  type: QuantType,
  blocks: Uint8Array,
  bias: Float32Array | undefined,
  M: number,
  N: number,
  K: number,
): Float32Array {
  return matmul(x, dequantize(type, blocks, N, K), bias, M, N, K);
}

/** Embedding lookup in a [vocab, hidden] table of `type` held in `blocks`. */
export function embeddingQuant(
  ids: ArrayLike<number>,
  type: QuantType,
  blocks: Uint8Array,
  vocab: number,
  hidden: number,
  scale = 1,
): Float32Array {
  return embedding(ids, dequantize(type, blocks, vocab, hidden), vocab, hidden, scale);
}
