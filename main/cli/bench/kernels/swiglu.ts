import { swiglu } from '../../../../engine/gpu/kernels/swiglu.ts';
import { swigluFused as swigluRef } from '../../../../engine/reference/swiglu.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

/** SwiGLU on a fused gate_up projection [T, 2I], as the MLP produces it. */
function swigluCase(model: keyof typeof MODEL_SHAPES, tokens: number, phase: 'decode' | 'prefill'): KernelBenchCase {
  const inter = MODEL_SHAPES[model].intermediate;
  return {
    kernel: 'swiglu',
    variant: `f32 ${tokens}x${inter} gate_up (${model}, ${phase})`,
    phase,
    quick: model === 'Qwen2.5-0.5B' && phase === 'decode',
    bytes: tokens * inter * 4 * 3, // gate and up read, out written
    flops: tokens * inter * 6,
    setup(gpu) {
      const gateUp = benchValues(tokens * 2 * inter, 31, 4);
      const t = {
        gateUp: gpu.upload('f32', [tokens, 2 * inter], gateUp, 'gate_up'),
        out: gpu.createTensor('f32', [tokens, inter], 'out'),
      };
      return {
        record: (step) => swiglu(step, t),
        twin: () => swigluRef(gateUp, tokens, inter),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

export const swigluCases: KernelBenchCase[] = [
  swigluCase('Qwen2.5-0.5B', 1, 'decode'),
  swigluCase('Qwen2.5-0.5B', 512, 'prefill'),
  swigluCase('Llama-3-8B', 1, 'decode'),
  swigluCase('Llama-3-8B', 512, 'prefill'),
];
