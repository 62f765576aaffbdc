/**
 * The GPU for tests: SwiftShader, with error checks on, one device per test process. A machine without a WebGPU
 * adapter fails these tests loudly (NoAdapterError says what was tried), it never skips them.
 */
import { Gpu } from '../../engine/gpu/gpu.ts';

let shared: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  shared ??= Gpu.create({ software: true, checkErrors: true });
  return shared;
}
