import { attentionDecode, attentionPrefill } from '../../../../engine/gpu/kernels/attention.ts';
import { attention as attentionRef } from '../../../../engine/reference/attention.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

/**
 * Decode: one token against `ctx` cached keys (split-K pass + merge). Prefill: a T-token chunk at position 0, causal.
 * Bytes count Q, K, V and out once; flops count QK^T and PV (2 * 2 * rows * keys * D * heads), halved for causal.
 */
function attentionCase(model: keyof typeof MODEL_SHAPES, phase: 'decode' | 'prefill', T: number, ctx: number) {
  const { heads, kvHeads, headDim: D } = MODEL_SHAPES[model];
  const kvBytes = 2 * ctx * kvHeads * D * 4;
  const qBytes = T * heads * D * 4;
  const c: KernelBenchCase = {
    kernel: phase === 'decode' ? 'attention_decode' : 'attention_prefill',
    variant: `f32 ${heads}:${kvHeads}x${D} T=${T} ctx=${ctx} (${model})`,
    phase,
    quick: model === 'Qwen2.5-0.5B' && phase === 'decode',
    bytes: kvBytes + 2 * qBytes,
    flops: phase === 'decode' ? 4 * ctx * D * heads : 2 * T * ctx * D * heads,
    setup(gpu) {
      const q = benchValues(T * heads * D, 1);
      const k = benchValues(ctx * kvHeads * D, 2);
      const v = benchValues(ctx * kvHeads * D, 3);
      const t = {
        q: gpu.upload('f32', [T, heads, D], q, 'q'),
        k: gpu.upload('f32', [ctx, kvHeads, D], k, 'k'),
        v: gpu.upload('f32', [ctx, kvHeads, D], v, 'v'),
        out: gpu.createTensor('f32', [T, heads, D], 'out'),
      };
      const queryStart = ctx - T;
      return {
        record: (step) =>
          phase === 'decode'
            ? attentionDecode(step, { ...t, kvLength: ctx })
            : attentionPrefill(step, { ...t, queryStart, kvLength: ctx }),
        twin: () => attentionRef(q, k, v, { T, heads, kvHeads, D, queryStart, kvLength: ctx }),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
  return c;
}

export const attentionCases: KernelBenchCase[] = [
  attentionCase('Qwen2.5-0.5B', 'decode', 1, 4096),
  attentionCase('Qwen2.5-0.5B', 'prefill', 128, 128),
  attentionCase('Llama-3-8B', 'decode', 1, 4096),
  attentionCase('Llama-3-8B', 'prefill', 128, 128),
];
