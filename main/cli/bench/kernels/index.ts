/** Every kernel benchmark case, in the order `plas bench kernels` prints them. One file per kernel. */
import type { KernelBenchCase } from '../kernel-case.ts';
import { attentionCases } from './attention.ts';
import { embeddingCases } from './embedding.ts';
import { logprobsCases } from './logprobs.ts';
import { matmulCases } from './matmul.ts';
import { matmulQuantCases } from './matmul-quant.ts';
import { pagedAttentionCases } from './paged-attention.ts';
import { plasCases } from './plas.ts';
import { rmsnormCases } from './rmsnorm.ts';
import { ropeCases } from './rope.ts';
import { samplingCases } from './sampling.ts';
import { swigluCases } from './swiglu.ts';

export const KERNEL_CASES: KernelBenchCase[] = [
  ...rmsnormCases,
  ...attentionCases,
  ...pagedAttentionCases,
  ...matmulCases,
  ...matmulQuantCases,
  ...plasCases,
  ...embeddingCases,
  ...ropeCases,
  ...swigluCases,
  ...samplingCases,
  ...logprobsCases,
];
