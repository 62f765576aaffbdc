/**
 * The GPU for tests: SwiftShader, with error checks on, one device per test process. A machine without a WebGPU
 * adapter fails these tests loudly (NoAdapterError says what was tried), it never skips them.
 */

import { tmpdir } from 'node:os';
import { Gpu } from '../../engine/gpu/gpu.ts';
import { gpuEnvironment } from '../../main/cli/commands/gpu-options.ts';

let shared: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  process.env.XDG_RUNTIME_DIR ??= tmpdir(); // quiets Vulkan's window-system layers
  shared ??= Gpu.create({ software: true, checkErrors: true, ...gpuEnvironment(process.env) });
  return shared;
}
