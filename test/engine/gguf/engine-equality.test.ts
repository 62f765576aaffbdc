/**
 * A tiny model written as GGUF (F32 and F16, as llama.cpp's converter writes it: permuted q/k rows for "llama", F32
 * norms) generates exactly the greedy tokens of the same weights loaded from safetensors, through the Engine.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { writeGgufFromTinyModel } from '../../fixtures/gguf-fixture.ts';
import { type TinyArchitecture, writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32, prompts } from '../serving/engine-fixture.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-engine-'));
});
after(() => rm(root, { recursive: true, force: true }));

async function greedyTokens(model: LoadedModel, inputs: number[][], maxTokens: number): Promise<number[][]> {
  const engine = await Engine.create(await testGpu(), model, { cache: { pageSize: 16, memoryBytes: MB32 } });
  try {
    const out: number[][] = [];
    for (const p of inputs)
      out.push((await collect(engine.generate({ promptTokenIds: p, sampling: greedy(maxTokens) }))).ids);
    return out;
  } finally {
    await engine.close();
  }
}

const CASES: { architecture: TinyArchitecture; dtype: 'f32' | 'f16'; seed: number }[] = [
  { architecture: 'llama', dtype: 'f32', seed: 21 }, // permuted q/k, untied output.weight
  { architecture: 'llama', dtype: 'f16', seed: 21 },
  { architecture: 'qwen3', dtype: 'f16', seed: 21 }, // key_length != hidden/heads, q/k norms, tied embeddings
  { architecture: 'qwen2', dtype: 'f32', seed: 4 }, // q/k/v biases
];

describe('GGUF vs safetensors through the Engine', () => {
  for (const { architecture, dtype, seed } of CASES) {
    it(`${architecture} ${dtype.toUpperCase()}: the same greedy tokens`, async () => {
      const gpu = await testGpu();
      const dir = join(root, `${architecture}-${dtype}`);
      const tiny = await writeTinyModel(dir, { architecture, dtype, seed });
      const path = join(root, `${architecture}-${dtype}.gguf`);
      await writeGgufFromTinyModel(tiny, path, { type: dtype });
      const inputs = prompts([5, 23], 7);
      const hf = await loadModel(gpu, dir);
      let expected: number[][];
      try {
        expected = await greedyTokens(hf, inputs, 12);
      } finally {
        hf.dispose();
      }
      const model = await loadModel(gpu, path);
      try {
        assert.equal(model.dir, path);
        assert.deepEqual(model.config.hiddenSize, tiny.config.hiddenSize);
        const actual = await greedyTokens(model, inputs, 12);
        assert.deepEqual(actual, expected);
        // Random weights keep greedy decoding from collapsing into one token: the comparison has content.
        assert.ok(new Set(expected.flat()).size > 3, `varied tokens: ${expected.flat()}`);
      } finally {
        model.dispose();
      }
    });
  }
});
