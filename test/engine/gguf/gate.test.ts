/**
 * Learned PLAS gates for GGUF models: a GGUF file's gate lives beside it as `<file>.plas-gate.safetensors` (a folder
 * of several .gguf files holds one gate per model), is loaded when present (the engine reports a learned gate and
 * adopts its block size), and may instead be given by path (attention.gateFile: a host whose model folder is
 * read-only keeps gates in its own data folder). Without one, mean pooling.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import { QWEN3_0_6B_SHAPE, writeSyntheticGguf } from '../../../engine/gguf/synthetic-model.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { GGUF_GATE_SUFFIX, gateFileOf, writeGateWeights } from '../../../engine/plas/gate-weights.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32 } from '../serving/engine-fixture.ts';

const BLOCK = 16;
let root: string;
let path: string;
let model: LoadedModel;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-gate-'));
  await mkdir(join(root, 'models'));
  path = join(root, 'models', 'tiny-f16.gguf');
  // A synthetic tiny model: a 512-token vocabulary, so loading it takes milliseconds.
  const shape = { ...QWEN3_0_6B_SHAPE, vocab: 512, hidden: 256, layers: 2, heads: 4, kvHeads: 2, headDim: 64 };
  await writeSyntheticGguf(path, { shape: { ...shape, intermediate: 512, contextLength: 1024 }, mix: 'f16' });
  model = await loadModel(await testGpu(), path);
});
after(async () => {
  model?.dispose();
  await rm(root, { recursive: true, force: true });
});

async function gateOf(input: EngineConfigInput): Promise<{ gate: string; blockSize: number; backend: string }> {
  const engine = await Engine.create(await testGpu(), model, { cache: { memoryBytes: MB32 }, ...input });
  try {
    // A PLAS request over a few blocks runs the gate's key sums (a gate of the wrong shape would fail here).
    const prompt = Array.from({ length: 3 * BLOCK + 5 }, (_, i) => 300 + ((i * 37) % 200));
    const out = await collect(
      engine.generate({ promptTokenIds: prompt, sampling: greedy(2), attention: { backend: 'plas' } }),
    );
    return {
      gate: engine.stats().attention.gate,
      blockSize: engine.plasConfig.plas_block_size,
      backend: out.done.attention.backend,
    };
  } finally {
    await engine.close();
  }
}

function randomGate(layers: number, kvHeads: number, headDim: number): Float32Array[] {
  let s = 7;
  return Array.from({ length: layers }, () =>
    Float32Array.from({ length: kvHeads * BLOCK * headDim }, () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s / 2 ** 32) * (2 / BLOCK);
    }),
  );
}

describe('learned gates of GGUF models', () => {
  it('is looked up beside the file as <file>.plas-gate.safetensors', () => {
    assert.equal(gateFileOf(path), `${path}${GGUF_GATE_SUFFIX}`);
    assert.equal(gateFileOf('/m/folder'), join('/m/folder', 'plas_attention_mlp_weight.safetensors'));
    assert.equal(gateFileOf('/data/gates/x.safetensors'), '/data/gates/x.safetensors');
  });

  it('without a gate file: mean pooling', async () => {
    const r = await gateOf({});
    assert.match(r.gate, /mean pooling on all 2 layers/);
  });

  it('a gate written beside the .gguf is loaded: learned gate, its block size adopted', async () => {
    const d = model.dims;
    const shape = { numLayers: d.numLayers, kvHeads: d.kvHeads, headDim: d.headDim, blockSize: BLOCK };
    await writeGateWeights(gateFileOf(model.dir), randomGate(d.numLayers, d.kvHeads, d.headDim), shape);
    try {
      const r = await gateOf({});
      assert.match(r.gate, /learned gate on layers 0-1/);
      assert.equal(r.blockSize, BLOCK);
      assert.equal(r.backend, 'plas', 'the request ran PLAS on the learned gate');
    } finally {
      await rm(gateFileOf(model.dir));
    }
  });

  it('a gate kept elsewhere (read-only model folder) is loaded from attention.gateFile', async () => {
    const d = model.dims;
    const shape = { numLayers: d.numLayers, kvHeads: d.kvHeads, headDim: d.headDim, blockSize: BLOCK };
    const elsewhere = join(root, 'data', 'tiny-f16.gguf.plas-gate.safetensors');
    await mkdir(join(root, 'data'), { recursive: true });
    await writeGateWeights(elsewhere, randomGate(d.numLayers, d.kvHeads, d.headDim), shape);
    const r = await gateOf({ attention: { gateFile: elsewhere } });
    assert.match(r.gate, /learned gate on layers 0-1/);
    assert.equal(r.blockSize, BLOCK);
    // Not beside the model: an engine without the path still pools by the mean.
    assert.match((await gateOf({})).gate, /mean pooling/);
  });
});
