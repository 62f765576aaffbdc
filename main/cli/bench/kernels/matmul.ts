import { bytesPerElement, type FloatDType, roundToDType } from '../../../../engine/gpu/dtype.ts';
import { matmul } from '../../../../engine/gpu/kernels/matmul.ts';
import { matmul as matmulRef } from '../../../../engine/reference/matmul.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

type Model = keyof typeof MODEL_SHAPES;

/** One linear layer of `model`: K -> N, M activation rows (1 for decode, 128 for a prefill chunk). */
function matmulCase(model: Model, layer: string, k: number, n: number, m: number, dtype: FloatDType): KernelBenchCase {
  const phase = m <= 8 ? 'decode' : 'prefill';
  return {
    kernel: 'matmul',
    variant: `${dtype} ${m}x${k}->${n} (${model} ${layer})`,
    phase,
    quick: model === 'Qwen2.5-0.5B',
    bytes: n * k * bytesPerElement(dtype) + m * k * 4 + m * n * 4, // weights, x in, out written
    flops: 2 * m * n * k,
    setup(gpu) {
      const x = benchValues(m * k, 1);
      const w = roundToDType(benchValues(n * k, 2, 0.05), dtype);
      const t = {
        x: gpu.upload('f32', [m, k], x, 'x'),
        weight: gpu.upload(dtype, [n, k], w, 'w'),
        out: gpu.createTensor('f32', [m, n], 'out'),
      };
      return {
        record: (step) => matmul(step, t),
        twin: () => matmulRef(x, w, undefined, m, n, k),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

/** The layers benched per model: decode includes Qwen's LM head (the largest matrix of a 0.5B model); prefill
 * leaves it out because the forward pass runs the LM head on the last row of a chunk only. */
function modelCases(model: Model, m: number, dtypes: readonly FloatDType[]): KernelBenchCase[] {
  const s = MODEL_SHAPES[model];
  const layers: [string, number, number][] = [
    ['q/o proj', s.hidden, s.hidden],
    ['MLP up', s.hidden, s.intermediate],
  ];
  if (model === 'Qwen2.5-0.5B' && m === 1) layers[0] = ['LM head', s.hidden, s.vocab];
  return layers.flatMap(([layer, k, n]) => dtypes.map((dtype) => matmulCase(model, layer, k, n, m, dtype)));
}

export const matmulCases: KernelBenchCase[] = [
  matmulCase('Qwen2.5-0.5B', 'MLP up', 896, 4864, 1, 'f32'),
  ...modelCases('Qwen2.5-0.5B', 1, ['f16', 'bf16']),
  matmulCase('Qwen2.5-0.5B', 'MLP up, 4 seqs', 896, 4864, 4, 'bf16'),
  ...modelCases('Llama-3-8B', 1, ['f16', 'bf16']),
  matmulCase('Qwen2.5-0.5B', 'MLP up', 896, 4864, 128, 'f32'),
  ...modelCases('Qwen2.5-0.5B', 128, ['f16', 'bf16']),
  ...modelCases('Llama-3-8B', 128, ['f16', 'bf16']),
];
