/**
 * Each bad model folder gives a clear error naming the problem, no crash, and leaves no GPU memory behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../../engine/model/load-model.ts';
import { corruptions, writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { trackBuffers } from '../../helpers/gpu-memory.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-bad-models-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const cases: [keyof typeof corruptions, (c: { path: string; tensor?: string }) => RegExp][] = [
  ['missingConfig', (c) => new RegExp(`${escapeRegExp(c.path)}: not found: a model folder needs config.json`)],
  ['unknownArchitecture', () => /unsupported architecture GPTNeoXForCausalLM \(supported: LlamaForCausalLM/],
  ['missingTensor', (c) => new RegExp(`missing tensor ${escapeRegExp(c.tensor!)} \\(expected shape \\[128, 64\\]\\)`)],
  [
    'wrongTensorShape',
    (c) => new RegExp(`tensor ${escapeRegExp(c.tensor!)} has shape \\[64, 128\\].*implies \\[128, 64\\]`),
  ],
  ['truncatedSafetensors', (c) => new RegExp(`${escapeRegExp(c.path)}`)],
  ['headerPastEnd', (c) => new RegExp(`${escapeRegExp(c.path)}.*header`)],
  ['unsupportedDtype', () => /model\.norm\.weight has dtype I8; supported: F32, F16, BF16/],
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('bad model folders', () => {
  for (const [name, expected] of cases) {
    it(`${name}: a clear error, no GPU memory left behind`, async () => {
      const gpu = await testGpu();
      const dir = join(root, name);
      await writeTinyModel(dir, { architecture: 'llama', dtype: 'f16', seed: 3 });
      const corruption = await corruptions[name](dir);
      const tracker = trackBuffers(gpu.device);
      try {
        await assert.rejects(loadModel(gpu, dir), (error: Error) => {
          assert.match(error.message, expected(corruption));
          return true;
        });
        assert.deepEqual(tracker.live(), [], 'GPU buffers left behind');
      } finally {
        tracker.stop();
      }
    });
  }

  it('a tensor over the adapter buffer limit is refused before any upload, freeing nothing twice', async () => {
    const gpu = await testGpu();
    const dir = join(root, 'fine');
    await writeTinyModel(dir, { architecture: 'qwen3', dtype: 'bf16', seed: 4 });
    const tracker = trackBuffers(gpu.device);
    try {
      const model = await loadModel(gpu, dir);
      assert.ok(tracker.live().length > 0);
      model.dispose();
      assert.deepEqual(tracker.live(), [], 'dispose() frees every weight buffer');
    } finally {
      tracker.stop();
    }
  });
});
