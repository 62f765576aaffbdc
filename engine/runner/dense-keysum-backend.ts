/**
 * Dense paged attention that also keeps the PLAS key sums and bounds current: the backend of a step in which no request runs
 * PLAS, on an engine where requests may. A page's key sums are written when its keys are, so a PLAS request that later
 * shares the page through the prefix cache (or a sequence that crosses its sparse limit) finds them ready.
 */
import { type PagedBatch, pagedAttention, writePagedKv } from '../gpu/kernels/paged-attention.ts';
import { plasKeyBounds, plasKeySums } from '../gpu/kernels/plas-key-sums.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { PagedKvLayer } from '../kv/paged-layout.ts';
import type { AttentionBackend } from '../model/gpu-forward.ts';
import type { LayerGate } from '../plas/gate-weights.ts';
import { keySumItems } from '../plas/plan.ts';

export class DenseKeySumBackend implements AttentionBackend {
  private items: Tensor | null | undefined;

  constructor(
    private readonly layers: readonly PagedKvLayer[],
    private readonly batch: PagedBatch,
    /** u32 [T]: page * pageSize + slot of each new token. */
    private readonly slotMapping: Tensor,
    private readonly blockSize: number,
    /** Per layer: the learned gates (only the sum form shapes the key sums; absent: mean pooling). */
    private readonly gates: readonly LayerGate[],
  ) {}

  record(step: Step, layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor): void {
    const pool = this.layers[layer];
    writePagedKv(step, { k, v, slotMapping: this.slotMapping, layer: pool });
    const items = this.keySumItems(step);
    if (items) {
      const gate = this.gates[layer]?.sum;
      plasKeySums(step, {
        k: pool.k,
        keySums: pool.keySums!,
        items,
        blockSize: this.blockSize,
        ...(gate ? { gate } : {}),
      });
      plasKeyBounds(step, { k: pool.k, keyBounds: pool.keyBounds!, items });
    }
    pagedAttention(step, { q, layer: pool, batch: this.batch, out });
  }

  /** u32 [I, 4] (page, firstSlot, count, blockOffset): built once per step, shared by every layer. */
  private keySumItems(step: Step): Tensor | null {
    if (this.items === undefined) {
      const list = keySumItems(this.batch.host, this.batch.pageSize, this.blockSize);
      if (list.length === 0) this.items = null;
      else {
        const t = step.scratch('u32', [list.length / 4, 4], 'plas key sum items');
        step.gpu.writeBytes(t, new Uint8Array(list.buffer, list.byteOffset, list.byteLength));
        this.items = t;
      }
    }
    return this.items;
  }
}
