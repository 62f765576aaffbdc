/**
 * `plas bench attention`: dense paged attention and PLAS block-sparse attention on the same adapter, in one run, over
 * a paged cache holding synthetic keys and values (uniform random; queries correlated within a GQA group). Per context: ms per call for each (median, GPU timestamps), their
 * ratio, the density PLAS attended, and the ideal ratio: dense work over sparse work including the gate (the key-sum
 * scores), counted in bytes read for decode (memory-bound) and in FLOPs for prefill (compute-bound).
 */
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { pagedAttention } from '../../../engine/gpu/kernels/paged-attention.ts';
import { plasKeySums } from '../../../engine/gpu/kernels/plas-key-sums.ts';
import type { Step } from '../../../engine/gpu/step.ts';
import type { Tensor } from '../../../engine/gpu/tensor.ts';
import { type BatchSequence, type PagedKvLayer, packBatch } from '../../../engine/kv/paged-layout.ts';
import type { PlasConfig } from '../../../engine/plas/config.ts';
import { keySumItems } from '../../../engine/plas/plan.ts';
import { plasAttention } from '../../../engine/plas/plas-attention.ts';
import { PlasStats } from '../../../engine/plas/stats.ts';
import { benchValues } from './kernel-case.ts';

export interface AttentionBenchOptions {
  contexts: number[];
  mode: 'decode' | 'prefill';
  heads: number;
  kvHeads: number;
  headDim: number;
  /** New tokens per call in prefill mode (a chunk at the end of the context). */
  prefillTokens: number;
  pageSize: number;
  repeats: number;
  plas: PlasConfig;
}

export interface AttentionBenchRow {
  context: number;
  mode: string;
  queries: number;
  denseMs: number;
  plasMs: number;
  /** dense / plas time */
  speedup: number;
  /** selected / candidate blocks, over the sparse layers' lists */
  density: number;
  /** dense work / (sparse work + gate work) */
  idealSpeedup: number;
  /** speedup / idealSpeedup */
  ofIdeal: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function timeCall(gpu: Gpu, repeats: number, record: (step: Step) => void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= repeats; i++) {
    const step = gpu.step('bench attention');
    step.enableTiming();
    record(step);
    const t0 = performance.now();
    await step.submit();
    await gpu.device.queue.onSubmittedWorkDone();
    if (i > 0) times.push(step.gpuTimeMs ?? performance.now() - t0);
  }
  return median(times);
}

/** Fill a tensor with pseudo-random values, 16 MiB of fresh values at a time (distinct per chunk). */
function fillRandom(gpu: Gpu, t: Tensor, seed: number): void {
  const total = t.buffer.size;
  const chunk = Math.min(total, 16 << 20);
  for (let offset = 0, i = 0; offset < total; offset += chunk, i++) {
    const n = Math.min(chunk, total - offset) / 4;
    gpu.writeBytes(t, new Uint8Array(benchValues(n, seed * 7919 + i).buffer), offset);
  }
}

/**
 * Queries [T, heads, D] that share most of their direction across the heads of one GQA group and across consecutive
 * tokens, as trained models' do (a group shares its keys; neighbouring queries attend to much the same places).
 * Independent random queries would make the decode head union and the prefill token union cover nearly every block,
 * a worst case no real model shows.
 */
function groupedQueries(T: number, heads: number, kvHeads: number, D: number): Float32Array {
  const group = heads / kvHeads;
  const shared = benchValues(kvHeads * D, 3); // one direction per group, for every token
  const noise = benchValues(T * heads * D, 4);
  const q = new Float32Array(T * heads * D);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      for (let d = 0; d < D; d++) {
        q[(t * heads + h) * D + d] = shared[g * D + d] + 0.25 * noise[(t * heads + h) * D + d];
      }
    }
  }
  return q;
}

export async function benchAttention(
  gpu: Gpu,
  o: AttentionBenchOptions,
  onRow: (row: AttentionBenchRow) => void = () => {},
): Promise<AttentionBenchRow[]> {
  const rows: AttentionBenchRow[] = [];
  const { heads, kvHeads, headDim: D, pageSize } = o;
  const blockSize = o.plas.plas_block_size;
  for (const context of o.contexts) {
    const numPages = Math.ceil(context / pageSize);
    const T = o.mode === 'decode' ? 1 : Math.min(o.prefillTokens, context);
    const shape = [numPages, pageSize, kvHeads, D];
    const layer: PagedKvLayer & { keySums: Tensor } = {
      k: gpu.createTensor('f32', shape, 'bench k'),
      v: gpu.createTensor('f32', shape, 'bench v'),
      keySums: gpu.createTensor('f32', [numPages, kvHeads, D], 'bench key sums'),
    };
    const q = gpu.upload('f32', [T, heads, D], groupedQueries(T, heads, kvHeads, D), 'bench q');
    const out = gpu.createTensor('f32', [T, heads, D], 'bench out');
    try {
      fillRandom(gpu, layer.k, 1);
      fillRandom(gpu, layer.v, 2);
      const table = Array.from({ length: numPages }, (_, i) => i);
      // The key sums of the whole context, as the engine would have accumulated them token by token.
      const all: BatchSequence[] = [{ queryOffset: 0, numQueries: context, kvLength: context, blockTable: table }];
      const items = keySumItems(all, pageSize, blockSize);
      const setup = gpu.step('bench key sums');
      const tItems = setup.scratch('u32', [items.length / 4, 4], 'key sum items');
      gpu.writeBytes(tItems, new Uint8Array(items.buffer));
      setup.clear(layer.keySums);
      plasKeySums(setup, { k: layer.k, keySums: layer.keySums, items: tItems, blockSize });
      await setup.submit();

      const host: BatchSequence[] = [{ queryOffset: 0, numQueries: T, kvLength: context, blockTable: table }];
      const packed = packBatch(host);
      const seqs = gpu.upload('u32', [1, 4], packed.seqs, 'seqs');
      const blockTables = gpu.upload('u32', [packed.blockTables.length], packed.blockTables, 'tables');
      const batch = { seqs, blockTables, host, pageSize, requestIds: ['bench'] };
      const denseMs = await timeCall(gpu, o.repeats, (step) => pagedAttention(step, { q, layer, batch, out }));
      // PLAS updates the key sums of the new tokens each call: the same work the engine does per step.
      const plasMs = await timeCall(gpu, o.repeats, (step) =>
        plasAttention(step, { q, layer, batch, out, config: o.plas, isLastLayer: false }),
      );
      const stats = new PlasStats({ sampleEvery: 1, recall: false });
      const probe = gpu.step('bench density');
      plasAttention(probe, { q, layer, batch, out, config: o.plas, isLastLayer: false, stats, layerIndex: 0 });
      await probe.submit();
      await stats.settled();
      const s = stats.layer(0);
      const density = s.density;
      // Decode is memory-bound: work = bytes read. Dense reads K and V of every key; PLAS reads the selected blocks'
      // K and V plus the gate's input, every page's key sums. Prefill is compute-bound: work = FLOPs. Dense does
      // QK^T and PV over every visible key (4 T ctx heads D); PLAS does that over the selected share plus the gate's
      // scores, one dot product per query, head and candidate block (2 T blocks heads D).
      const blocks = Math.ceil(context / blockSize);
      const denseWork = o.mode === 'decode' ? context * 2 * kvHeads * D * 4 : 4 * T * context * heads * D;
      const gateWork = o.mode === 'decode' ? numPages * kvHeads * D * 4 : 2 * T * blocks * heads * D;
      const sparseWork = denseWork * density + gateWork;
      const idealSpeedup = denseWork / sparseWork;
      const speedup = denseMs / plasMs;
      const row = {
        context,
        mode: o.mode,
        queries: T,
        denseMs,
        plasMs,
        speedup,
        density,
        idealSpeedup,
        ofIdeal: speedup / idealSpeedup,
      };
      rows.push(row);
      onRow(row);
      seqs.buffer.destroy();
      blockTables.buffer.destroy();
    } finally {
      for (const t of [layer.k, layer.v, layer.keySums, q, out]) t.buffer.destroy();
    }
  }
  return rows;
}

export function attentionTableHeader(): string {
  return `${'context'.padStart(8)} ${'mode'.padStart(8)} ${'queries'.padStart(8)} ${'dense ms'.padStart(10)} ${'plas ms'.padStart(10)} ${'speedup'.padStart(8)} ${'density'.padStart(8)} ${'ideal'.padStart(8)} ${'of ideal'.padStart(9)}`;
}

export function attentionTableRow(r: AttentionBenchRow): string {
  return `${String(r.context).padStart(8)} ${r.mode.padStart(8)} ${String(r.queries).padStart(8)} ${r.denseMs.toFixed(2).padStart(10)} ${r.plasMs.toFixed(2).padStart(10)} ${`${r.speedup.toFixed(2)}x`.padStart(8)} ${r.density.toFixed(3).padStart(8)} ${`${r.idealSpeedup.toFixed(2)}x`.padStart(8)} ${`${(r.ofIdeal * 100).toFixed(0)}%`.padStart(9)}`;
}
