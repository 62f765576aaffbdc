import { rope } from '../../../../engine/gpu/kernels/rope.ts';
import { type RopeConfig, rope as ropeRef } from '../../../../engine/reference/rope.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

const CONFIGS: Record<keyof typeof MODEL_SHAPES, RopeConfig> = {
  'Qwen2.5-0.5B': { headDim: 64, theta: 1000000, style: 'neox' },
  'Llama-3-8B': {
    headDim: 128,
    theta: 500000,
    style: 'neox',
    scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
  },
};

/** RoPE on the query heads (the key heads are the same kernel on fewer heads). */
function ropeCase(model: keyof typeof MODEL_SHAPES, tokens: number, phase: 'decode' | 'prefill'): KernelBenchCase {
  const { heads, headDim } = MODEL_SHAPES[model];
  const config = CONFIGS[model];
  return {
    kernel: 'rope',
    variant: `f32 ${tokens}x${heads}x${headDim} (${model} q, ${phase})`,
    phase,
    quick: model === 'Qwen2.5-0.5B' && phase === 'decode',
    bytes: tokens * heads * headDim * 4 * 2 + tokens * 4, // x read and written in place, positions
    flops: tokens * heads * headDim * 3,
    setup(gpu) {
      const x = benchValues(tokens * heads * headDim, 21);
      // Decode sits deep in a long context; prefill covers a chunk of it.
      const positions = Array.from({ length: tokens }, (_, i) => (phase === 'decode' ? 30000 : 4096 + i));
      const t = {
        x: gpu.upload('f32', [tokens, heads, headDim], x, 'x'),
        positions: gpu.upload('u32', [tokens], positions, 'positions'),
      };
      return {
        record: (step) => rope(step, { ...t, config }),
        twin: () => ropeRef(x, positions, heads, config),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

export const ropeCases: KernelBenchCase[] = [
  ropeCase('Qwen2.5-0.5B', 1, 'decode'),
  ropeCase('Qwen2.5-0.5B', 512, 'prefill'),
  ropeCase('Llama-3-8B', 1, 'decode'),
  ropeCase('Llama-3-8B', 512, 'prefill'),
];
