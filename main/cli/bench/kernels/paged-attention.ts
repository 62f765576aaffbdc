import { pagedAttention, uploadPagedBatch } from '../../../../engine/gpu/kernels/paged-attention.ts';
import type { BatchSequence } from '../../../../engine/kv/paged-layout.ts';
import { pagedAttention as pagedAttentionRef } from '../../../../engine/reference/paged-attention.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

const PAGE_SIZE = 64;

/**
 * B sequences of `ctx` cached tokens each, T new tokens each (1: decode, the split-K pass + merge; more: a prefill
 * chunk at the end of the context), pages scattered over the pool. Bytes count Q, out and every sequence's K/V once;
 * flops count QK^T and PV (2 * 2 * keys * D per query row and head) over the keys each row sees.
 */
function pagedCase(model: keyof typeof MODEL_SHAPES, B: number, T: number, ctx: number): KernelBenchCase {
  const { heads, kvHeads, headDim: D } = MODEL_SHAPES[model];
  const phase = T === 1 ? 'decode' : 'prefill';
  const pagesPerSeq = Math.ceil(ctx / PAGE_SIZE);
  const numPages = B * pagesPerSeq;
  const rowSize = kvHeads * D;
  const keysSeen = T * ctx - (T * (T - 1)) / 2; // per sequence and head: row i sees ctx - T + 1 + i keys
  return {
    kernel: 'paged_attention',
    variant: `f32 B=${B} T=${T} ctx=${ctx} ${heads}:${kvHeads}x${D} p${PAGE_SIZE} (${model})`,
    phase,
    quick: model === 'Qwen2.5-0.5B' && B === 1 && T === 1,
    bytes: B * (2 * ctx * rowSize * 4 + 2 * T * heads * D * 4),
    flops: B * 4 * keysSeen * D * heads,
    setup(gpu) {
      // A fixed shuffle of the pool's pages: sequences' pages are not contiguous, as in a running server.
      const ids = Array.from({ length: numPages }, (_, i) => (i * 7919) % numPages);
      const host: BatchSequence[] = Array.from({ length: B }, (_, b) => ({
        queryOffset: b * T,
        numQueries: T,
        kvLength: ctx,
        blockTable: ids.slice(b * pagesPerSeq, (b + 1) * pagesPerSeq),
      }));
      const q = benchValues(B * T * heads * D, 1);
      const k = benchValues(numPages * PAGE_SIZE * rowSize, 2);
      const v = benchValues(numPages * PAGE_SIZE * rowSize, 3);
      const layer = {
        k: gpu.upload('f32', [numPages, PAGE_SIZE, kvHeads, D], k, 'k pool'),
        v: gpu.upload('f32', [numPages, PAGE_SIZE, kvHeads, D], v, 'v pool'),
      };
      const tq = gpu.upload('f32', [B * T, heads, D], q, 'q');
      const out = gpu.createTensor('f32', [B * T, heads, D], 'out');
      return {
        record: (step) => pagedAttention(step, { q: tq, layer, batch: uploadPagedBatch(step, host, PAGE_SIZE), out }),
        twin: () => pagedAttentionRef(q, k, v, host, { heads, kvHeads, D, pageSize: PAGE_SIZE }),
        dispose: () => {
          for (const t of [layer.k, layer.v, tq, out]) t.buffer.destroy();
        },
      };
    },
  };
}

export const pagedAttentionCases: KernelBenchCase[] = [
  pagedCase('Qwen2.5-0.5B', 1, 1, 4096),
  pagedCase('Qwen2.5-0.5B', 16, 1, 4096),
  pagedCase('Qwen2.5-0.5B', 1, 128, 4096),
  pagedCase('Llama-3-8B', 1, 1, 4096),
  pagedCase('Llama-3-8B', 16, 1, 4096),
  pagedCase('Llama-3-8B', 1, 128, 4096),
];
