/**
 * Typed errors and the engine's lifecycle: a prompt over the context, a closed engine, a lost device (running requests
 * fail with GpuDeviceLostError and a new device and engine work), and load/close cycles that leak no GPU memory.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { Gpu } from '../../../engine/gpu/gpu.ts';
import { loadModel } from '../../../engine/model/load-model.ts';
import { ContextLengthExceededError, GpuDeviceLostError } from '../../../engine/serving/errors.ts';
import { gpuEnvironment } from '../../../main/cli/commands/gpu-options.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { trackBuffers } from '../../helpers/gpu-memory.ts';
import { collect, greedy, MB32, prompts } from './engine-fixture.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-lifecycle-'));
  await writeTinyModel(dir, { architecture: 'qwen3', dtype: 'f16', seed: 4 });
});
after(() => rm(dir, { recursive: true, force: true }));

function newGpu(): Promise<Gpu> {
  return Gpu.create({ software: true, checkErrors: true, ...gpuEnvironment(process.env) });
}

it('a prompt over the context, or max_tokens past it, is a ContextLengthExceededError with both numbers', async () => {
  const gpu = await newGpu();
  const model = await loadModel(gpu, dir);
  const engine = await Engine.create(gpu, model, { cache: { pageSize: 16, memoryBytes: MB32 } });
  const limit = model.config.maxPositionEmbeddings;
  const tooLong = new Array(limit).fill(100);
  await assert.rejects(collect(engine.generate({ promptTokenIds: tooLong, sampling: {} })), (e: unknown) => {
    return e instanceof ContextLengthExceededError && e.promptTokens === limit && e.limit === limit;
  });
  const [p] = prompts([10], 1);
  await assert.rejects(
    collect(engine.generate({ promptTokenIds: p, sampling: { maxTokens: limit } })),
    (e: unknown) => e instanceof ContextLengthExceededError && /together/.test(e.message) && !/--/.test(e.message),
  );
  await engine.close();
  model.dispose();
  gpu.destroy();
});

it('after a device loss, running requests fail with GpuDeviceLostError and a new device and engine work', async () => {
  const gpu = await newGpu();
  const model = await loadModel(gpu, dir);
  const engine = await Engine.create(gpu, model, { cache: { pageSize: 16, memoryBytes: MB32 } });
  const [p] = prompts([20], 2);
  const running = collect(engine.generate({ promptTokenIds: p, sampling: greedy(2000) }));
  for (let i = 0; i < 400 && engine.stats().generatedTokens < 3; i++) await new Promise((r) => setTimeout(r, 5));
  gpu.device.destroy(); // what a driver reset looks like to WebGPU
  await assert.rejects(running, GpuDeviceLostError);
  await assert.rejects(collect(engine.generate({ promptTokenIds: p, sampling: greedy(2) })), GpuDeviceLostError);

  const fresh = await newGpu();
  const again = await loadModel(fresh, dir);
  const next = await Engine.create(fresh, again, { cache: { pageSize: 16, memoryBytes: MB32 } });
  const r = await collect(next.generate({ promptTokenIds: p, sampling: greedy(4) }));
  assert.equal(r.ids.length, 4);
  await next.close();
  again.dispose();
  fresh.destroy();
});

it('loading, generating and closing 5 times on one GPU leaks no GPU memory', async () => {
  const gpu = await newGpu();
  const tracker = trackBuffers(gpu.device);
  const [p] = prompts([30], 3);
  const liveAfter: number[] = [];
  for (let i = 0; i < 5; i++) {
    const model = await loadModel(gpu, dir);
    const engine = await Engine.create(gpu, model, { cache: { pageSize: 16, memoryBytes: MB32 } });
    await collect(engine.generate({ promptTokenIds: p, sampling: greedy(4), logprobs: { topLogprobs: 2 } }));
    await engine.close();
    model.dispose();
    liveAfter.push(tracker.bytes());
  }
  tracker.stop();
  // What stays is the GPU's own pool of step buffers, reused by the next engine: the same after every cycle.
  assert.ok(
    liveAfter.every((b) => b === liveAfter[0]),
    `live bytes after each cycle: ${liveAfter.join(', ')}`,
  );
  gpu.pool.trim();
  gpu.destroy();
});
