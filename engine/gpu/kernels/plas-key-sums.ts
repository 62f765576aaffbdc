/** Launcher for shaders/plas_key_sums.wgsl: per-page key sums (PLAS compressed keys) after a step's K/V write. */
import type { KvDType } from '../../kv/paged-layout.ts';
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';
import { kvLib } from './paged-kv-write.ts';

export const PLAS_KEY_SUMS_PARAMS = uniformLayout('plas_key_sums', 'plas_key_sums.wgsl', [
  ['items', 'u32'],
  ['kv_heads', 'u32'],
  ['d4', 'u32'],
  ['page_size', 'u32'],
  ['block_size', 'u32'],
  ['grid_x', 'u32'],
] as const);

export interface PlasKeySumsArgs {
  /** f16 or f32 [numPages, pageSize, kvHeads, D]: the layer's K pool, this step's keys already written. */
  k: Tensor;
  /** f32 [numPages, kvHeads, D], updated in place. */
  keySums: Tensor;
  /** u32 [I, 4] = (page, firstSlot, count, blockOffset), from plan.ts keySumItems. */
  items: Tensor;
  /** PLAS block size: a multiple of the page size. */
  blockSize: number;
  /** f32 [kvHeads, blockSize, D]: the layer's learned gate; absent -> plain sums (mean pooling). */
  gate?: Tensor;
}

const WG = 64;

export function plasKeySums(step: Step, a: PlasKeySumsArgs): void {
  const kernel = 'plas_key_sums';
  expectTensor(kernel, 'k', a.k, ['f16', 'f32'], ['numPages', 'pageSize', 'kvHeads', 'D']);
  const [numPages, pageSize, kvHeads, D] = a.k.shape;
  expect(kernel, D % 4 === 0 && D >= 4 && D <= 256, () => `head dim must be a multiple of 4 in [4, 256], got ${D}`);
  expectTensor(kernel, 'keySums', a.keySums, 'f32', [numPages, kvHeads, D]);
  expectTensor(kernel, 'items', a.items, 'u32', ['I', 4]);
  expect(
    kernel,
    Number.isInteger(a.blockSize) && a.blockSize >= pageSize && a.blockSize % pageSize === 0,
    () => `blockSize (${a.blockSize}) must be a multiple of the page size (${pageSize})`,
  );
  if (a.gate) expectTensor(kernel, 'gate', a.gate, 'f32', [kvHeads, a.blockSize, D]);
  expectDistinct(kernel, { keySums: a.keySums, k: a.k });
  expectDistinct(kernel, { keySums: a.keySums, items: a.items });
  if (a.gate) expectDistinct(kernel, { keySums: a.keySums, gate: a.gate });
  dispatchPerPage(step, kernel, a.gate ? 'main_gate' : 'main', a.k, a.items, a.blockSize, [
    a.keySums,
    a.items,
    ...(a.gate ? [a.gate] : []),
  ]);
}

/** One thread per (item, kv head, vec4 of D) over the pages a step wrote: the layout every entry point shares. */
function dispatchPerPage(
  step: Step,
  kernel: string,
  entryPoint: 'main' | 'main_gate' | 'main_bounds',
  k: Tensor,
  items: Tensor,
  blockSize: number,
  rest: Tensor[],
): void {
  const [, pageSize, kvHeads, D] = k.shape;
  const count = items.shape[0];
  const [gx, gy] = grid(Math.ceil((count * kvHeads * D) / 4 / WG), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'plas_key_sums.wgsl',
      libs: [kvLib(k.dtype as KvDType)],
      entryPoint,
      constants: { WG },
    }),
    uniforms: PLAS_KEY_SUMS_PARAMS.pack({
      items: count,
      kv_heads: kvHeads,
      d4: D / 4,
      page_size: pageSize,
      block_size: blockSize,
      grid_x: gx,
    }),
    bindings: [k, ...rest],
    workgroups: [gx, gy],
  });
}

export interface PlasKeyBoundsArgs {
  /** f16 or f32 [numPages, pageSize, kvHeads, D]: the layer's K pool, this step's keys already written. */
  k: Tensor;
  /** f32 [numPages, kvHeads, 2 * D]: per page and kv head, the keys' per-channel max (first D) then min; in place. */
  keyBounds: Tensor;
  /** u32 [I, 4] = (page, firstSlot, count, blockOffset), the same items as plasKeySums. */
  items: Tensor;
}

/** shaders/plas_key_sums.wgsl main_bounds: per-page key extremes for the key-bound block score (Quest's). */
export function plasKeyBounds(step: Step, a: PlasKeyBoundsArgs): void {
  const kernel = 'plas_key_bounds';
  expectTensor(kernel, 'k', a.k, ['f16', 'f32'], ['numPages', 'pageSize', 'kvHeads', 'D']);
  const [numPages, pageSize, kvHeads, D] = a.k.shape;
  expect(kernel, D % 4 === 0 && D >= 4 && D <= 256, () => `head dim must be a multiple of 4 in [4, 256], got ${D}`);
  expectTensor(kernel, 'keyBounds', a.keyBounds, 'f32', [numPages, kvHeads, 2 * D]);
  expectTensor(kernel, 'items', a.items, 'u32', ['I', 4]);
  expectDistinct(kernel, { keyBounds: a.keyBounds, k: a.k });
  expectDistinct(kernel, { keyBounds: a.keyBounds, items: a.items });
  // main_bounds does not read the block size: the page size stands in for it.
  dispatchPerPage(step, kernel, 'main_bounds', a.k, a.items, pageSize, [a.keyBounds, a.items]);
}
