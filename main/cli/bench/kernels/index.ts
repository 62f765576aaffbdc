/** Every kernel benchmark case, in the order `plas bench kernels` prints them. One file per kernel. */
import type { KernelBenchCase } from '../kernel-case.ts';
import { rmsnormCases } from './rmsnorm.ts';

export const KERNEL_CASES: KernelBenchCase[] = [...rmsnormCases];
