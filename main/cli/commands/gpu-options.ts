/** Flags shared by every command that opens a GPU. */
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import { Gpu } from '../../../engine/gpu/gpu.ts';

export interface GpuFlags {
  software?: boolean;
  validate?: boolean;
}

export function addGpuFlags(command: Command): Command {
  return command
    .option('--software', 'use SwiftShader (CPU Vulkan) even when a hardware GPU is present')
    .option('--validate', 'keep Dawn validation and robustness on (slower; GPU errors are reported per kernel)');
}

/** The environment's say in which GPU driver opens: VK_ICD_FILENAMES forces one, PLAS_SWIFTSHADER_ICD locates SwiftShader. */
export function gpuEnvironment(env: NodeJS.ProcessEnv): { userIcd?: string; swiftShaderIcd?: string } {
  return {
    ...(env.VK_ICD_FILENAMES ? { userIcd: env.VK_ICD_FILENAMES } : {}),
    ...(env.PLAS_SWIFTSHADER_ICD ? { swiftShaderIcd: env.PLAS_SWIFTSHADER_ICD } : {}),
  };
}

export function openGpu(flags: GpuFlags, log: (message: string) => void = (m) => console.error(m)): Promise<Gpu> {
  // Vulkan's window-system layers complain on every start when this is unset (servers, CI); compute needs no display.
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  return Gpu.create({
    ...gpuEnvironment(process.env),
    software: flags.software ?? false,
    fast: !flags.validate,
    checkErrors: flags.validate ?? false,
    log,
  });
}
