/** Launcher for shaders/embedding.wgsl: token embedding lookup, optionally scaled (Gemma multiplies by sqrt(hidden)). */
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import { FLOAT_DTYPES } from '../dtype.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';
import { weightsLib } from './weights-lib.ts';

export const EMBEDDING_PARAMS = uniformLayout('embedding', 'embedding.wgsl', [
  ['tokens', 'u32'],
  ['hidden', 'u32'],
  ['vocab', 'u32'],
  ['scale', 'f32'],
  ['chunks', 'u32'],
  ['grid_x', 'u32'],
] as const);

const WG = 256;

export interface EmbeddingArgs {
  /** u32 [T]. An id outside [0, V) is not an error the GPU can report: its output row is all zeros. */
  ids: Tensor;
  /** [V, H], f32/f16/bf16 */
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
  expectTensor(kernel, 'table', a.table, FLOAT_DTYPES, ['V', 'H']);
  const [vocab, hidden] = a.table.shape;
  expectTensor(kernel, 'out', a.out, 'f32', [tokens, hidden]);
  const scale = a.scale ?? 1;
  expect(kernel, Number.isFinite(scale), () => `scale must be a finite number, got ${scale}`);
  expect(kernel, vocab * hidden < 2 ** 32, () => `table has ${vocab * hidden} elements; indices must fit in u32`);
  expectDistinct(kernel, { ids: a.ids, table: a.table, out: a.out });
  const vec = hidden % 4 === 0 ? 4 : 1;
  const chunks = Math.max(1, Math.ceil(hidden / (WG * vec)));
  const [gx, gy] = grid(tokens * chunks, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'embedding.wgsl',
      libs: [weightsLib(a.table.dtype)],
      constants: { WG, VEC: vec },
    }),
    uniforms: EMBEDDING_PARAMS.pack({ tokens, hidden, vocab, scale, chunks, grid_x: gx }),
    bindings: [a.ids, a.table, a.out],
    workgroups: [gx, gy],
  });
}
