import { rmsnorm } from '../../../../engine/gpu/kernels/rmsnorm.ts';
import { rmsnorm as rmsnormRef } from '../../../../engine/reference/rmsnorm.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

function rmsnormCase(model: keyof typeof MODEL_SHAPES, rows: number, phase: 'decode' | 'prefill'): KernelBenchCase {
  const n = MODEL_SHAPES[model].hidden;
  return {
    kernel: 'rmsnorm+residual',
    variant: `f32 ${rows}x${n} (${model}, ${phase})`,
    phase,
    quick: model === 'Qwen2.5-0.5B',
    bytes: rows * n * 4 * 4 + n * 4, // x, residual in; out, residual_out written; weight
    flops: rows * n * 5,
    setup(gpu) {
      const x = benchValues(rows * n, 1);
      const res = benchValues(rows * n, 2);
      const w = benchValues(n, 3);
      const t = {
        x: gpu.upload('f32', [rows, n], x, 'x'),
        weight: gpu.upload('f32', [n], w, 'w'),
        out: gpu.createTensor('f32', [rows, n], 'out'),
        residual: gpu.upload('f32', [rows, n], res, 'res'),
        residualOut: gpu.createTensor('f32', [rows, n], 'res_out'),
      };
      return {
        record: (step) => rmsnorm(step, { ...t, eps: 1e-6 }),
        twin: () => rmsnormRef(x, w, rows, n, 1e-6, { residual: res }),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

export const rmsnormCases: KernelBenchCase[] = [
  rmsnormCase('Qwen2.5-0.5B', 1, 'decode'),
  rmsnormCase('Qwen2.5-0.5B', 512, 'prefill'),
  rmsnormCase('Llama-3-8B', 1, 'decode'),
  rmsnormCase('Llama-3-8B', 512, 'prefill'),
];
