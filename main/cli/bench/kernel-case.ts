/**
 * A benchmark case for `plas bench kernels`: one kernel at one size. It moves `bytes` and performs `flops` per call;
 * `setup` allocates its inputs and returns how to record one GPU call and how to run the TypeScript twin once.
 */
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { Step } from '../../../engine/gpu/step.ts';

export interface KernelBenchInstance {
  /** Record one call of the kernel into `step`. */
  record(step: Step): void;
  /** Run the TypeScript twin once on the same inputs. */
  twin(): void;
  dispose(): void;
}

export interface KernelBenchCase {
  kernel: string;
  /** e.g. 'f16 4096x14336 (Llama-3-8B MLP up, decode)' */
  variant: string;
  /** 'decode' or 'prefill' size, or 'any' for kernels outside the forward pass */
  phase: 'decode' | 'prefill' | 'any';
  /** Smallest cases run with --quick (and in the test that checks the command works). */
  quick?: boolean;
  /** Bytes read and written per call (weights, activations, KV), for GB/s. */
  bytes: number;
  /** Floating-point operations per call, for GFLOP/s (0 when it is not compute-bound work). */
  flops: number;
  setup(gpu: Gpu): KernelBenchInstance;
}

/** Shapes of the models whose sizes the benchmarks use (hidden, intermediate, heads:kv, head_dim, vocab). */
export const MODEL_SHAPES = {
  'Qwen2.5-0.5B': { hidden: 896, intermediate: 4864, heads: 14, kvHeads: 2, headDim: 64, vocab: 151936 },
  'Llama-3-8B': { hidden: 4096, intermediate: 14336, heads: 32, kvHeads: 8, headDim: 128, vocab: 128256 },
} as const;

/** Deterministic pseudo-random values in [-scale, scale) for benchmark inputs. */
export function benchValues(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}
