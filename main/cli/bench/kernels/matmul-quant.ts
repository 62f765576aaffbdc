/**
 * The linear layers with quantized weights (`plas bench kernels --kernel quant`): every quant type's matvec (decode)
 * and tiled (prefill) time and effective GB/s at a 1-3B model's shape (hidden 2048), next to f16 at the same shape.
 * GB/s counts the bytes the weights occupy (blocks), so a type that reads fewer bytes at the same time shows lower
 * GB/s, and the time column is the one to compare across types.
 */
import { f32ToF16Bits } from '../../../../engine/gpu/dtype.ts';
import { matmul } from '../../../../engine/gpu/kernels/matmul.ts';
import { QUANT_BLOCKS, QUANT_TYPES, type QuantType, quantBytes } from '../../../../engine/quant/types.ts';
import { matmul as matmulRef } from '../../../../engine/reference/matmul.ts';
import { matmulQuant } from '../../../../engine/reference/matmul-quant.ts';
import { benchValues, type KernelBenchCase } from '../kernel-case.ts';

const HIDDEN = 2048;
const MLP = 8192;

/** Where each type keeps its f16 scales (d, and dmin for the K-quants with mins). */
const F16_FIELDS: Record<QuantType, number[]> = { q8_0: [0], q4_0: [0], q4_k: [0, 2], q5_k: [0, 2], q6_k: [208] };

/**
 * Blocks of random codes with small finite scales: quantizing millions of values with the reference quantizer would
 * take longer than the bench, and the kernels' speed does not depend on the values.
 */
function randomBlocks(type: QuantType, rows: number, cols: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(quantBytes(type, rows, cols));
  const noise = benchValues(Math.ceil(bytes.length / 4), seed);
  const words = new Uint32Array(bytes.buffer, 0, Math.floor(bytes.length / 4));
  for (let i = 0; i < words.length; i++) words[i] = Math.floor((noise[i] + 1) * 2 ** 31) >>> 0;
  const { blockBytes } = QUANT_BLOCKS[type];
  const scale = f32ToF16Bits(0.01);
  for (let at = 0; at < bytes.length; at += blockBytes) {
    for (const field of F16_FIELDS[type]) {
      bytes[at + field] = scale & 0xff;
      bytes[at + field + 1] = scale >> 8;
    }
  }
  return bytes;
}

function quantCase(type: QuantType | 'f16', m: number, k: number, n: number): KernelBenchCase {
  const phase = m <= 8 ? 'decode' : 'prefill';
  const weightBytes = type === 'f16' ? n * k * 2 : quantBytes(type, n, k);
  return {
    kernel: 'matmul_quant',
    variant: `${type} ${m}x${k}->${n} (hidden ${HIDDEN}, ${phase})`,
    phase,
    quick: phase === 'decode',
    bytes: weightBytes + m * k * 4 + m * n * 4,
    flops: 2 * m * n * k,
    setup(gpu) {
      const x = benchValues(m * k, 1);
      const out = gpu.createTensor('f32', [m, n], 'out');
      const xt = gpu.upload('f32', [m, k], x, 'x');
      let weight: ReturnType<typeof gpu.createTensor>;
      let twin: () => void;
      if (type === 'f16') {
        const w = benchValues(n * k, 2, 0.05);
        weight = gpu.upload('f16', [n, k], w, 'w');
        twin = () => matmulRef(x, w, undefined, m, n, k);
      } else {
        const blocks = randomBlocks(type, n, k, 3);
        weight = gpu.createTensor(type, [n, k], 'w');
        gpu.writeBytes(weight, blocks);
        twin = () => matmulQuant(x, type, blocks, undefined, m, n, k);
      }
      return {
        record: (step) => matmul(step, { x: xt, weight, out }),
        twin,
        dispose: () => {
          for (const t of [xt, weight, out]) t.buffer.destroy();
        },
      };
    },
  };
}

const TYPES = ['f16', ...QUANT_TYPES] as const;

export const matmulQuantCases: KernelBenchCase[] = [
  ...TYPES.map((type) => quantCase(type, 1, HIDDEN, MLP)),
  ...TYPES.map((type) => quantCase(type, 128, HIDDEN, HIDDEN)),
];
