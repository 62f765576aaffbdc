/** `plas bench <what>`: benchmark commands. Speed targets are measured here, never by timed tests. */
import { Command, InvalidArgumentError } from 'commander';
import { benchKernels, kernelTableHeader, kernelTableRow } from '../bench/kernels-bench.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './gpu-options.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function benchCommand(): Command {
  const bench = new Command('bench').description('measure kernels, attention and serving speed');
  addGpuFlags(
    bench
      .command('kernels')
      .description('every kernel at decode and prefill sizes of 0.5B-8B models, against its TypeScript twin')
      .option('--json', 'print one JSON document instead of a table')
      .option('--repeats <n>', 'timed calls per case (median reported)', positiveInt, 5)
      .option('--quick', 'only the small (0.5B-size) cases')
      .option('--no-twin', 'skip timing the TypeScript twins')
      .option('--kernel <names...>', 'only kernels whose name contains one of these'),
  ).action(
    async (
      flags: GpuFlags & { json?: boolean; repeats: number; quick?: boolean; twin: boolean; kernel?: string[] },
    ) => {
      const gpu = await openGpu(flags);
      try {
        if (!flags.json) console.log(kernelTableHeader(gpu));
        const rows = await benchKernels(
          gpu,
          {
            repeats: flags.repeats,
            quick: flags.quick ?? false,
            twin: flags.twin,
            filter: flags.kernel ?? [],
            twinBudgetMs: 3000,
          },
          (row) => {
            if (!flags.json) console.log(kernelTableRow(row));
          },
        );
        if (flags.json) console.log(JSON.stringify({ adapter: gpu.adapter, features: gpu.features, rows }, null, 2));
      } finally {
        gpu.destroy();
      }
    },
  );
  return bench;
}
