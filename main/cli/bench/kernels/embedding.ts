import { roundToDType } from '../../../../engine/gpu/dtype.ts';
import { embedding } from '../../../../engine/gpu/kernels/embedding.ts';
import { embedding as embeddingRef } from '../../../../engine/reference/embedding.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

/** Rows of the table the bench allocates: the kernel reads only the T rows it looks up, so the vocabulary size is moot. */
const TABLE_ROWS = 4096;

function embeddingCase(model: keyof typeof MODEL_SHAPES, tokens: number, phase: 'decode' | 'prefill'): KernelBenchCase {
  const hidden = MODEL_SHAPES[model].hidden;
  return {
    kernel: 'embedding',
    variant: `bf16 ${tokens}x${hidden} (${model}, ${phase})`,
    phase,
    quick: model === 'Qwen2.5-0.5B' && phase === 'decode',
    bytes: tokens * (4 + hidden * 2 + hidden * 4), // ids, bf16 rows read, f32 rows written
    flops: tokens * hidden,
    setup(gpu) {
      const table = roundToDType(benchValues(TABLE_ROWS * hidden, 11), 'bf16');
      const ids = Array.from({ length: tokens }, (_, i) => (i * 2654435761) % TABLE_ROWS);
      const t = {
        ids: gpu.upload('u32', [tokens], ids, 'ids'),
        table: gpu.upload('bf16', [TABLE_ROWS, hidden], table, 'table'),
        out: gpu.createTensor('f32', [tokens, hidden], 'out'),
      };
      const scale = Math.sqrt(hidden);
      return {
        record: (step) => embedding(step, { ...t, scale }),
        twin: () => embeddingRef(ids, table, TABLE_ROWS, hidden, scale),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

export const embeddingCases: KernelBenchCase[] = [
  embeddingCase('Qwen2.5-0.5B', 1, 'decode'),
  embeddingCase('Qwen2.5-0.5B', 512, 'prefill'),
  embeddingCase('Llama-3-8B', 1, 'decode'),
  embeddingCase('Llama-3-8B', 512, 'prefill'),
];
