/**
 * Runs a token sequence through the model with exact (dense) paged attention and reads back, for every layer, the
 * queries and keys attention saw (post-RoPE, after Qwen3's q/k norms): what PLAS gate distillation learns from.
 * The real forward pass and the real paged cache, one chunk of the sequence per step, as the scheduler would run it.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { AttentionBackend } from '../model/gpu-forward.ts';
import type { LoadedModel } from '../model/load-model.ts';
import { ModelRunner } from '../runner/model-runner.ts';
import { PagedAttentionBackend } from '../runner/paged-backend.ts';
import { PagedKvPool } from '../runner/paged-kv-pool.ts';
import type { SchedulerOutput } from '../scheduler/output.ts';

export interface CapturedLayer {
  /** f32 [T, heads, D] */
  q: Float32Array;
  /** f32 [T, kvHeads, D] */
  k: Float32Array;
}

/** Records dense attention, then copies the layer's q and k out (the scratch buffers are reused by the next layer). */
class CaptureBackend implements AttentionBackend {
  readonly reads: { layer: number; q: Promise<Uint8Array>; k: Promise<Uint8Array> }[] = [];

  constructor(private readonly inner: AttentionBackend) {}

  record(step: Step, layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor): void {
    this.inner.record(step, layer, q, k, v, out);
    const bytes = (t: Tensor) => t.shape.reduce((a, b) => a * b, 4);
    this.reads.push({ layer, q: step.read(q, bytes(q)), k: step.read(k, bytes(k)) });
  }
}

const PAGE_SIZE = 64;

/** Queries and keys of every layer for `tokenIds` (positions 0 ..< T), computed `chunk` tokens per step. */
export async function captureQueriesAndKeys(
  gpu: Gpu,
  model: LoadedModel,
  tokenIds: readonly number[],
  chunk = 512,
): Promise<CapturedLayer[]> {
  const d = model.dims;
  const T = tokenIds.length;
  if (T < 1) throw new RangeError('captureQueriesAndKeys: no tokens');
  const numPages = Math.ceil(T / PAGE_SIZE);
  const pool = new PagedKvPool(gpu, d, { numPages, pageSize: PAGE_SIZE });
  const layers: CapturedLayer[] = Array.from({ length: d.numLayers }, () => ({
    q: new Float32Array(T * d.heads * d.headDim),
    k: new Float32Array(T * d.kvHeads * d.headDim),
  }));
  try {
    let backend: CaptureBackend | null = null;
    const runner = new ModelRunner(gpu, model, pool, (_step, upload, host) => {
      const batch = { seqs: upload.seqs, blockTables: upload.blockTables, host, pageSize: PAGE_SIZE };
      backend = new CaptureBackend(new PagedAttentionBackend(pool.layers, batch, upload.slots));
      return backend;
    });
    const blockTable = Array.from({ length: numPages }, (_, i) => i);
    for (let start = 0, step = 0; start < T; start += chunk, step++) {
      const ids = tokenIds.slice(start, start + chunk);
      const output: SchedulerOutput = {
        step,
        scheduled: [
          {
            requestId: 'capture',
            tokenIds: ids,
            start,
            blockTable,
            newBlocks: [],
            sample: false,
            isNew: start === 0,
            numCachedTokens: 0,
          },
        ],
        numScheduledTokens: ids.length,
        preemptedIds: [],
        finishedIds: [],
      };
      await runner.execute(output, new Map());
      const b = backend as CaptureBackend | null;
      if (!b) throw new Error('the model runner made no attention backend');
      for (const r of b.reads) {
        const q = new Float32Array((await r.q).buffer, 0, ids.length * d.heads * d.headDim);
        const k = new Float32Array((await r.k).buffer, 0, ids.length * d.kvHeads * d.headDim);
        layers[r.layer].q.set(q, start * d.heads * d.headDim);
        layers[r.layer].k.set(k, start * d.kvHeads * d.headDim);
      }
    }
    return layers;
  } finally {
    pool.destroy();
  }
}
