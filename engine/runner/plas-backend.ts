/** PLAS block-sparse attention over the paged cache, as an AttentionBackend for one step's batch. */
import { writePagedKv } from '../gpu/kernels/paged-attention.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { PagedKvLayer } from '../kv/paged-layout.ts';
import type { AttentionBackend } from '../model/gpu-forward.ts';
import type { PlasConfig } from '../plas/config.ts';
import type { LayerGate } from '../plas/gate-weights.ts';
import { type PlasBatch, plasAttention } from '../plas/plas-attention.ts';
import type { PlasStats } from '../plas/stats.ts';

export class PlasAttentionBackend implements AttentionBackend {
  constructor(
    private readonly layers: readonly PagedKvLayer[],
    private readonly batch: PlasBatch,
    private readonly slotMapping: Tensor,
    /** The config in force for this whole step (a live update applies from the next step). */
    private readonly config: PlasConfig,
    /** Per layer: the learned gates (sum form absent: mean pooling; key-bound form absent: the plain bound). */
    private readonly gates: readonly LayerGate[],
    private readonly stats: PlasStats,
  ) {}

  record(step: Step, layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor): void {
    const pool = this.layers[layer];
    writePagedKv(step, { k, v, slotMapping: this.slotMapping, layer: pool });
    const gate = this.gates[layer] ?? {};
    plasAttention(step, {
      q,
      layer: pool,
      batch: this.batch,
      out,
      config: this.config,
      isLastLayer: layer === this.layers.length - 1,
      layerIndex: layer,
      stats: this.stats,
      ...(gate.sum ? { gate: gate.sum } : {}),
      ...(gate.bound ? { boundGate: gate.bound } : {}),
    });
  }
}
