/**
 * The `plas` command line: `npm run plas -- <command> [flags]`; `--help` on every command.
 */
import { Command } from 'commander';
import { adapterName } from '../../engine/gpu/device.ts';
import { benchCommand } from './commands/bench.ts';
import { evalCommand } from './commands/eval.ts';
import { gateCommand } from './commands/gate.ts';
import { generateCommand } from './commands/generate.ts';
import { addGpuFlags, type GpuFlags, openGpu } from './commands/gpu-options.ts';
import { modelsCommand } from './commands/models.ts';
import { serveCommand } from './commands/serve.ts';

const program = new Command('plas')
  .description('PLAS Studio: run LLMs locally on any GPU through WebGPU, with PLAS sparse attention')
  .showHelpAfterError();

addGpuFlags(program.command('gpu').description('show the WebGPU adapter the engine would use, its features and limits'))
  .option('--json', 'print JSON')
  .action(async (flags: GpuFlags & { json?: boolean }) => {
    const gpu = await openGpu(flags, () => {});
    const limits = {
      maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
      maxBufferSize: gpu.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: gpu.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: gpu.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: gpu.limits.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: gpu.limits.maxStorageBuffersPerShaderStage,
    };
    if (flags.json) console.log(JSON.stringify({ adapter: gpu.adapter, features: gpu.features, limits }, null, 2));
    else {
      console.log(`adapter:  ${adapterName(gpu.adapter)}`);
      console.log(
        `features: ${Object.entries(gpu.features)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
      for (const [k, v] of Object.entries(limits)) console.log(`${k}: ${v}`);
    }
    gpu.destroy();
  });

program.addCommand(benchCommand());
program.addCommand(serveCommand());
program.addCommand(generateCommand());
program.addCommand(gateCommand());
program.addCommand(evalCommand());
program.addCommand(modelsCommand());

/** Every command takes --debug: a user's mistake prints `error: <message>` alone; with --debug, the stack too. */
function addDebugFlag(command: Command): void {
  if (command.commands.length === 0 && !command.options.some((o) => o.long === '--debug')) {
    command.option('--debug', 'print the stack with an error');
  }
  for (const sub of command.commands) addDebugFlag(sub);
}
addDebugFlag(program);

/** Runs the CLI on `argv` (process.argv's shape); a user's mistake prints `error: <message>` and exits 1. */
export async function runPlas(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const e = error as Error;
    console.error(argv.includes('--debug') && e.stack ? e.stack : `error: ${e.message}`);
    process.exit(1);
  }
}

if (process.argv[1] === import.meta.filename) await runPlas(process.argv);
