import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sizeClass } from '../../../engine/gpu/buffer-pool.ts';
import {
  bf16BitsToF32,
  decodeValues,
  encodeValues,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from '../../../engine/gpu/dtype.ts';
import { GpuDeviceLostError, GpuKernelError, KernelArgumentError } from '../../../engine/gpu/errors.ts';
import { Gpu } from '../../../engine/gpu/gpu.ts';
import { testGpu } from '../../helpers/gpu.ts';

describe('dtype conversions', () => {
  it('f16 round-trips exactly representable values and rounds to nearest even', () => {
    for (const v of [0, -0, 1, -2.5, 65504, 2 ** -24, 2 ** -14, 0.0999755859375])
      assert.equal(f16BitsToF32(f32ToF16Bits(v)), v);
    assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // halfway: ties to even (down)
    assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // halfway: ties to even (up)
    assert.equal(f32ToF16Bits(70000), 0x7c00); // overflow to infinity
    assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(Number.NaN))));
  });
  it('bf16 keeps the top half of an f32 with round to nearest even', () => {
    assert.equal(bf16BitsToF32(f32ToBf16Bits(1.5)), 1.5);
    assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80); // halfway: ties to even
    assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
    assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(Number.NaN))));
  });
  it('encode/decode agree for every float dtype', () => {
    const values = [0.5, -3, 1024, 0.125];
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      assert.deepEqual([...decodeValues(encodeValues(values, dtype), dtype)], values);
    }
  });
});

describe('buffer pool', () => {
  it('size classes waste at most a quarter and never shrink a request', () => {
    for (const bytes of [1, 255, 256, 257, 1000, 4097, 123456, 2 ** 20 + 1]) {
      const size = sizeClass(bytes);
      assert.ok(size >= bytes && (size <= 256 || size <= bytes * 1.25 + 1), `${bytes} -> ${size}`);
    }
  });
  it('recycles released buffers and refuses double release', async () => {
    const gpu = await testGpu();
    const usage = GPUBufferUsage.STORAGE;
    const a = gpu.pool.acquire(1000, usage, 'a');
    gpu.pool.release(a);
    const b = gpu.pool.acquire(1001, usage, 'b');
    assert.equal(b, a, 'same size class reuses the buffer');
    gpu.pool.release(b);
    assert.throws(() => gpu.pool.release(b), /released twice/);
  });
});

describe('GPU errors name the kernel', () => {
  it('a WGSL compile error surfaces at submit as GpuKernelError with the kernel name', async () => {
    const gpu = await testGpu();
    const step = gpu.step('broken');
    const out = gpu.createTensor('f32', [4], 'out');
    // A deliberately broken shader: loaded through the same cache every kernel uses.
    const pipeline = gpu.pipelines.get({ kernel: 'broken_kernel', file: '../test/fixtures/shaders/broken.wgsl' });
    step.dispatch({ kernel: 'broken_kernel', pipeline, bindings: [out], workgroups: [1] });
    await assert.rejects(
      step.submit(),
      (e: Error) => e instanceof GpuKernelError && e.message.includes('broken_kernel'),
    );
  });

  it('a binding the pipeline does not expect surfaces as GpuKernelError naming the kernel', async () => {
    const gpu = await testGpu();
    const step = gpu.step('mismatch');
    const a = gpu.createTensor('f32', [4], 'a');
    const pipeline = gpu.pipelines.get({ kernel: 'fill_ones', file: '../test/fixtures/shaders/fill_ones.wgsl' });
    step.dispatch({ kernel: 'fill_ones', pipeline, bindings: [a, a], workgroups: [1] });
    await assert.rejects(step.submit(), (e: Error) => e instanceof GpuKernelError && e.message.includes('fill_ones'));
    // The device is still usable afterwards.
    const ok = gpu.step('ok');
    ok.dispatch({ kernel: 'fill_ones', pipeline, bindings: [a], workgroups: [1] });
    await ok.submit();
    assert.deepEqual([...(await gpu.read(a))], [1, 1, 1, 1]);
  });

  it('a workgroup count past the adapter limit is refused before any GPU work', async () => {
    const gpu = await testGpu();
    const step = gpu.step('too many');
    const a = gpu.createTensor('f32', [4], 'a');
    const pipeline = gpu.pipelines.get({ kernel: 'fill_ones', file: '../test/fixtures/shaders/fill_ones.wgsl' });
    assert.throws(
      () => step.dispatch({ kernel: 'fill_ones', pipeline, bindings: [a], workgroups: [70000] }),
      (e: Error) => e instanceof KernelArgumentError && /fill_ones: workgroup count 70000/.test(e.message),
    );
  });

  it('timestamps measure a step when the adapter has them', async () => {
    const gpu = await testGpu();
    const a = gpu.createTensor('f32', [4], 'a');
    const pipeline = gpu.pipelines.get({ kernel: 'fill_ones', file: '../test/fixtures/shaders/fill_ones.wgsl' });
    const step = gpu.step('timed');
    step.enableTiming();
    step.dispatch({ kernel: 'fill_ones', pipeline, bindings: [a], workgroups: [1] });
    await step.submit();
    assert.equal(gpu.features.timestampQuery, true, 'SwiftShader offers timestamp-query');
    assert.ok(step.gpuTimeMs !== undefined && step.gpuTimeMs >= 0, `gpuTimeMs = ${step.gpuTimeMs}`);
  });

  it('a lost device surfaces as GpuDeviceLostError at the next step, never as wrong numbers', async () => {
    const gpu = await Gpu.create({ software: true });
    gpu.device.destroy();
    await gpu.device.lost;
    assert.throws(
      () => gpu.step('after loss'),
      (e: Error) => e instanceof GpuDeviceLostError && /destroyed/.test(e.message),
    );
  });
});
