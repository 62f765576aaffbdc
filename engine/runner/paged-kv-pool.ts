/**
 * The paged KV pool on the GPU: per layer a K and a V buffer of [numPages, pageSize, kvHeads, D] in the cache dtype
 * (f16, two halves a u32, or f32: the layout of engine/kv/paged-layout.ts), plus the f32 PLAS key sums when PLAS is on.
 * One buffer per layer and per K/V is how the pool is sharded: each stays within the adapter's binding limit, which is
 * checked here, before anything is allocated, with the numbers in the message.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { type KvDType, kvElementBytes, type PagedKvLayer } from '../kv/paged-layout.ts';
import type { ModelDims } from '../model/dims.ts';

export interface PagedKvPoolOptions {
  numPages: number;
  pageSize: number;
  /** Element type of K and V (default f32: tools that read the pool back as f32, e.g. attention capture). */
  dtype?: KvDType;
  /** Allocate per-page key sums and key bounds for PLAS. */
  keySums?: boolean;
}

export class PagedKvPool {
  readonly layers: PagedKvLayer[] = [];
  readonly dtype: KvDType;

  constructor(
    gpu: Gpu,
    dims: ModelDims,
    readonly options: PagedKvPoolOptions,
  ) {
    const { numPages, pageSize } = options;
    this.dtype = options.dtype ?? 'f32';
    const layerBytes = numPages * pageSize * dims.kvHeads * dims.headDim * kvElementBytes(this.dtype);
    const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    if (layerBytes > limit) {
      throw new Error(
        `${this.dtype} KV pool of ${numPages} pages x ${pageSize} tokens needs ${layerBytes} bytes per layer for K ` +
          `(and as much for V), over this adapter's ${limit}-byte binding limit; lower cache.memoryBytes`,
      );
    }
    try {
      for (let l = 0; l < dims.numLayers; l++) {
        const shape = [numPages, pageSize, dims.kvHeads, dims.headDim];
        this.layers.push({
          k: gpu.createTensor(this.dtype, shape, `kv pool k ${l}`),
          v: gpu.createTensor(this.dtype, shape, `kv pool v ${l}`),
          ...(options.keySums
            ? {
                keySums: gpu.createTensor('f32', [numPages, dims.kvHeads, dims.headDim], `plas key sums ${l}`),
                keyBounds: gpu.createTensor('f32', [numPages, dims.kvHeads, 2 * dims.headDim], `plas key bounds ${l}`),
              }
            : {}),
        });
      }
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  destroy(): void {
    for (const layer of this.layers) {
      layer.k.buffer.destroy();
      layer.v.buffer.destroy();
      layer.keySums?.buffer.destroy();
      layer.keyBounds?.buffer.destroy();
    }
    this.layers.length = 0;
  }
}
