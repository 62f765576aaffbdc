/** Flags shared by every command that opens a GPU. */
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

export function openGpu(flags: GpuFlags, log: (message: string) => void = (m) => console.error(m)): Promise<Gpu> {
  return Gpu.create({
    software: flags.software ?? false,
    fast: !flags.validate,
    checkErrors: flags.validate ?? false,
    log,
  });
}
