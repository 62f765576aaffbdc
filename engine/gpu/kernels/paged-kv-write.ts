/** Launcher for shaders/paged_kv_write.wgsl: scatter the new tokens' K/V rows into their pages (paged-layout.ts). */
import { KV_DTYPES, type KvDType, type PagedKvLayer } from '../../kv/paged-layout.ts';
import { expect, expectDistinct, expectTensor, grid } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const PAGED_KV_WRITE_PARAMS = uniformLayout('paged_kv_write', 'paged_kv_write.wgsl', [
  ['tokens', 'u32'],
  ['row_vec4', 'u32'],
  ['num_slots', 'u32'],
  ['grid_x', 'u32'],
] as const);

export interface PagedKvWriteArgs {
  /** f32 [T, kvHeads, D]: keys of the step's new tokens (after RoPE) */
  k: Tensor;
  /** f32 [T, kvHeads, D] */
  v: Tensor;
  /** u32 [T]: page * pageSize + slot of each token (slotMapping() in paged-layout.ts) */
  slotMapping: Tensor;
  /** Pools f16 or f32 [numPages, pageSize, kvHeads, D] (f16 rounds on store). keySums (PLAS) is not touched here. */
  layer: PagedKvLayer;
}

const THREADS = 256;

/** The WGSL library that reads and stores pool elements of a pool dtype (lib/kv_f16.wgsl packs two halves a u32). */
export function kvLib(dtype: KvDType): string {
  return dtype === 'f16' ? 'lib/kv_f16.wgsl' : 'lib/kv_f32.wgsl';
}

/** Checks a layer's pools (f16 or f32, K and V alike) and returns their [numPages, pageSize, kvHeads, D]. */
export function expectPagedLayer(kernel: string, layer: PagedKvLayer): [number, number, number, number] {
  expectTensor(kernel, 'layer.k', layer.k, KV_DTYPES, ['numPages', 'pageSize', 'kvHeads', 'D']);
  const [numPages, pageSize, kvHeads, D] = layer.k.shape;
  expectTensor(kernel, 'layer.v', layer.v, layer.k.dtype, [numPages, pageSize, kvHeads, D]);
  expect(kernel, D % 4 === 0 && D >= 4, () => `head dim must be a positive multiple of 4, got ${D}`);
  expect(
    kernel,
    pageSize >= 1 && (pageSize & (pageSize - 1)) === 0,
    () => `page size must be a power of two, got ${pageSize}`,
  );
  return [numPages, pageSize, kvHeads, D];
}

export function writePagedKv(step: Step, a: PagedKvWriteArgs): void {
  const kernel = 'paged_kv_write';
  const [numPages, pageSize, kvHeads, D] = expectPagedLayer(kernel, a.layer);
  expectTensor(kernel, 'k', a.k, 'f32', ['T', kvHeads, D]);
  const T = a.k.shape[0];
  expectTensor(kernel, 'v', a.v, 'f32', [T, kvHeads, D]);
  expectTensor(kernel, 'slotMapping', a.slotMapping, 'u32', [T]);
  // The pools are written, so neither may share a buffer with another binding; k, v and slotMapping are only read
  // and may (k and v as views of one fused QKV output, say).
  for (const [name, t] of Object.entries({ k: a.k, v: a.v, slotMapping: a.slotMapping })) {
    expectDistinct(kernel, { 'layer.k': a.layer.k, 'layer.v': a.layer.v, [name]: t });
  }
  const rowVec4 = (kvHeads * D) / 4;
  const [gx, gy] = grid(Math.ceil((T * rowVec4) / THREADS), step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'paged_kv_write.wgsl',
      libs: [kvLib(a.layer.k.dtype as KvDType)],
      constants: { WG: THREADS },
    }),
    uniforms: PAGED_KV_WRITE_PARAMS.pack({ tokens: T, row_vec4: rowVec4, num_slots: numPages * pageSize, grid_x: gx }),
    bindings: [a.k, a.v, a.slotMapping, a.layer.k, a.layer.v],
    workgroups: [gx, gy],
  });
}
