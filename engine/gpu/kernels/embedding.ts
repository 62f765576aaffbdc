/**
 * Launcher for shaders/embedding.wgsl: token embedding lookup, optionally scaled (Gemma multiplies by sqrt(hidden)),
 * from a float or quantized table, whole or split by rows across buffers (one dispatch per part).
 */
import { isQuantType, QUANT_BLOCKS } from '../../quant/types.ts';
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';
import { weightDTypes, weightsLibs } from './weights-lib.ts';

export const EMBEDDING_PARAMS = uniformLayout('embedding', 'embedding.wgsl', [
  ['tokens', 'u32'],
  ['hidden', 'u32'],
  ['vocab', 'u32'],
  ['scale', 'f32'],
  ['chunks', 'u32'],
  ['grid_x', 'u32'],
  ['row0', 'u32'],
  ['skip_outside', 'u32'],
] as const);

const WG = 256;

export interface EmbeddingArgs {
  /** u32 [T]. An id outside [0, V) is not an error the GPU can report: its output row is all zeros. */
  ids: Tensor;
  /** [V, H], f32/f16/bf16 or quantized (H a multiple of the block); may be split by rows (`parts`). */
  table: Tensor;
  /** f32 [T, H] */
  out: Tensor;
  /** Multiplier for every value (Gemma uses sqrt(H)); default 1. */
  scale?: number;
}

export function embedding(step: Step, a: EmbeddingArgs): void {
  const kernel = 'embedding';
  expectTensor(kernel, 'ids', a.ids, 'u32', ['T']);
  const [tokens] = a.ids.shape;
  expectTensor(kernel, 'table', a.table, weightDTypes(a.table), ['V', 'H']);
  const [vocab, hidden] = a.table.shape;
  expectTensor(kernel, 'out', a.out, 'f32', [tokens, hidden]);
  const scale = a.scale ?? 1;
  expect(kernel, Number.isFinite(scale), () => `scale must be a finite number, got ${scale}`);
  const parts = a.table.parts ?? [{ rowStart: 0, tensor: a.table }];
  parts.forEach(({ rowStart, tensor }, i) => {
    const rows = tensor.shape[0];
    expect(
      kernel,
      tensor.dtype === a.table.dtype && tensor.shape[1] === hidden && rowStart + rows <= vocab && !tensor.parts,
      () => `table part ${i} (${tensor.dtype}[${tensor.shape.join(', ')}] at row ${rowStart}) does not fit the table`,
    );
    dispatchPart(step, a, tensor, { tokens, hidden, scale, row0: rowStart, skipOutside: i > 0 });
  });
}

function dispatchPart(
  step: Step,
  a: EmbeddingArgs,
  table: Tensor,
  o: { tokens: number; hidden: number; scale: number; row0: number; skipOutside: boolean },
): void {
  const kernel = 'embedding';
  const vocab = table.shape[0];
  const hidden = o.hidden;
  expect(kernel, vocab * hidden < 2 ** 32, () => `table has ${vocab * hidden} elements; indices must fit in u32`);
  if (isQuantType(table.dtype)) {
    const block = QUANT_BLOCKS[table.dtype].blockElements;
    expect(kernel, hidden % block === 0, () => `H must be a multiple of ${block} for ${table.dtype}, got H=${hidden}`);
  }
  expectDistinct(kernel, { ids: a.ids, table, out: a.out });
  const vec = hidden % 4 === 0 ? 4 : 1;
  const chunks = Math.max(1, Math.ceil(hidden / (WG * vec)));
  const [gx, gy] = grid(o.tokens * chunks, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'embedding.wgsl',
      libs: weightsLibs(table.dtype),
      constants: { WG, VEC: vec },
    }),
    uniforms: EMBEDDING_PARAMS.pack({
      tokens: o.tokens,
      hidden,
      vocab,
      scale: o.scale,
      chunks,
      grid_x: gx,
      row0: o.row0,
      skip_outside: o.skipOutside ? 1 : 0,
    }),
    bindings: [a.ids, table, a.out],
    workgroups: [gx, gy],
  });
}
