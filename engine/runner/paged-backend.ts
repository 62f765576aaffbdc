/** Dense attention over the paged cache, as an AttentionBackend for one step's batch. */
import { type PagedBatch, pagedAttention, writePagedKv } from '../gpu/kernels/paged-attention.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { PagedKvLayer } from '../kv/paged-layout.ts';
import type { AttentionBackend } from '../model/gpu-forward.ts';

export class PagedAttentionBackend implements AttentionBackend {
  constructor(
    private readonly layers: readonly PagedKvLayer[],
    private readonly batch: PagedBatch,
    /** u32 [T]: page * pageSize + slot of each new token. */
    private readonly slotMapping: Tensor,
  ) {}

  record(step: Step, layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor): void {
    const pool = this.layers[layer];
    writePagedKv(step, { k, v, slotMapping: this.slotMapping, layer: pool });
    pagedAttention(step, { q, layer: pool, batch: this.batch, out });
  }
}
