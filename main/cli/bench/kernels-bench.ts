/**
 * `plas bench kernels`: every kernel at decode and prefill sizes of 0.5B-8B models. For each: median GPU time per
 * call (timestamp queries where the adapter has them, else wall time to completion), achieved GB/s and GFLOP/s, and
 * the same for the TypeScript twin, so the GPU/CPU ratio is visible on any machine.
 */
import { adapterName } from '../../../engine/gpu/device.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { KernelBenchCase } from './kernel-case.ts';
import { KERNEL_CASES } from './kernels/index.ts';

export interface KernelBenchRow {
  kernel: string;
  variant: string;
  phase: string;
  gpuMs: number;
  gpuGBps: number;
  gpuGflops: number;
  timing: 'timestamp' | 'wall';
  twinMs: number | null;
  twinGBps: number | null;
  /** Twin time over GPU time: how many times faster the GPU kernel is than plain TypeScript. */
  speedup: number | null;
}

export interface KernelBenchOptions {
  repeats: number;
  quick: boolean;
  twin: boolean;
  /** Only cases whose kernel name contains one of these. */
  filter: string[];
  /** Stop timing the twin after this many milliseconds (big matmuls take seconds in plain TypeScript). */
  twinBudgetMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timeGpu(gpu: Gpu, record: (step: import('../../../engine/gpu/step.ts').Step) => void, repeats: number) {
  const times: number[] = [];
  let timing: 'timestamp' | 'wall' = 'timestamp';
  for (let i = 0; i <= repeats; i++) {
    const step = gpu.step('bench');
    step.enableTiming();
    record(step);
    const start = performance.now();
    await step.submit();
    await gpu.device.queue.onSubmittedWorkDone();
    const wall = performance.now() - start;
    if (step.gpuTimeMs === undefined) timing = 'wall';
    if (i > 0) times.push(step.gpuTimeMs ?? wall); // the first call compiles and warms up
  }
  return { ms: median(times), timing };
}

function timeTwin(twin: () => void, repeats: number, budgetMs: number): number {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    twin();
    times.push(performance.now() - t0);
    if (performance.now() - start > budgetMs) break;
  }
  return median(times);
}

export async function benchKernels(
  gpu: Gpu,
  options: KernelBenchOptions,
  onRow: (row: KernelBenchRow) => void = () => {},
): Promise<KernelBenchRow[]> {
  const cases = KERNEL_CASES.filter(
    (c: KernelBenchCase) =>
      (!options.quick || c.quick) && (options.filter.length === 0 || options.filter.some((f) => c.kernel.includes(f))),
  );
  const rows: KernelBenchRow[] = [];
  for (const c of cases) {
    const instance = c.setup(gpu);
    try {
      const { ms, timing } = await timeGpu(gpu, instance.record, options.repeats);
      const twinMs = options.twin ? timeTwin(instance.twin, options.repeats, options.twinBudgetMs) : null;
      const row: KernelBenchRow = {
        kernel: c.kernel,
        variant: c.variant,
        phase: c.phase,
        gpuMs: ms,
        gpuGBps: c.bytes / (ms * 1e6),
        gpuGflops: c.flops / (ms * 1e6),
        timing,
        twinMs,
        twinGBps: twinMs === null ? null : c.bytes / (twinMs * 1e6),
        speedup: twinMs === null ? null : twinMs / ms,
      };
      rows.push(row);
      onRow(row);
    } finally {
      instance.dispose();
    }
  }
  return rows;
}

const fmt = (v: number | null, digits = 2) => (v === null ? '-' : v.toFixed(digits));
/** The variant column fits the longest variant of any case, so rows stay aligned as they stream in. */
const VARIANT_WIDTH = Math.max('variant'.length, ...KERNEL_CASES.map((c) => c.variant.length));

export function kernelTableHeader(gpu: Gpu): string {
  return [
    `Adapter: ${adapterName(gpu.adapter)}`,
    `${'kernel'.padEnd(22)} ${'variant'.padEnd(VARIANT_WIDTH)} ${'gpu ms'.padStart(9)} ${'GB/s'.padStart(8)} ${'GFLOP/s'.padStart(9)} ${'twin ms'.padStart(10)} ${'twin GB/s'.padStart(9)} ${'gpu/twin'.padStart(9)}`,
  ].join('\n');
}

export function kernelTableRow(r: KernelBenchRow): string {
  return `${r.kernel.padEnd(22)} ${r.variant.padEnd(VARIANT_WIDTH)} ${fmt(r.gpuMs, 3).padStart(9)} ${fmt(r.gpuGBps).padStart(8)} ${fmt(r.gpuGflops).padStart(9)} ${fmt(r.twinMs, 3).padStart(10)} ${fmt(r.twinGBps).padStart(9)} ${(r.speedup === null ? '-' : `${r.speedup.toFixed(2)}x`).padStart(9)}`;
}
