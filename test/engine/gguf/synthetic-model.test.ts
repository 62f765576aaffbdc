/**
 * The benchmark's synthetic GGUF models (engine/gguf/synthetic-model.ts) at a tiny shape: every tensor of the shape
 * in llama.cpp's Q4_K_M types (Q6_K for the tied embedding and for attn_v/ffn_down of use_more_bits layers), of the
 * right size; every block dequantizes to finite weights of about the asked spread and a mean near zero; the file
 * opens as a model of that shape, and the Engine runs it to finite logits.
 */
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { readGgufModel } from '../../../engine/gguf/gguf-model.ts';
import { openGguf } from '../../../engine/gguf/reader.ts';
import {
  type SyntheticShape,
  syntheticTensorBytes,
  syntheticTensors,
  useMoreBits,
  writeSyntheticGguf,
} from '../../../engine/gguf/synthetic-model.ts';
import { decodeValues } from '../../../engine/gpu/dtype.ts';
import { loadModel } from '../../../engine/model/load-model.ts';
import { dequantize } from '../../../engine/quant/dequantize.ts';
import { randomQuantTensor } from '../../../engine/quant/random-blocks.ts';
import { isQuantType, QUANT_TYPES } from '../../../engine/quant/types.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { greedy, MB32 } from '../serving/engine-fixture.ts';

const TINY: SyntheticShape = {
  architecture: 'qwen3',
  vocab: 512,
  hidden: 256,
  layers: 8,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  intermediate: 512,
  contextLength: 256,
  tiedEmbeddings: true,
};

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-synthetic-'));
});
after(() => rm(root, { recursive: true, force: true }));

async function bytesAt(path: string, offset: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const out = new Uint8Array(length);
    await handle.read(out, 0, length, offset);
    return out;
  } finally {
    await handle.close();
  }
}

function meanStd(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  for (const v of values) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sq / values.length - mean * mean) };
}

describe('random quant blocks', () => {
  for (const type of QUANT_TYPES) {
    it(`${type}: finite weights of about the asked std, mean near 0`, () => {
      const w = dequantize(type, randomQuantTensor(type, 16, 512, 0.05, 3), 16, 512);
      assert.ok(
        w.every((v) => Number.isFinite(v)),
        'finite',
      );
      const { mean, std } = meanStd(w);
      assert.ok(std > 0.035 && std < 0.07, `std ${std}`);
      assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    });
  }
});

describe('synthetic GGUF models', () => {
  it("Q4_K_M: llama.cpp's type mix, sizes, finite blocks, a model of the shape", async () => {
    const path = join(root, 'q4km.gguf');
    let progress = 0;
    await writeSyntheticGguf(path, { shape: TINY, mix: 'q4_k_m', onProgress: (done) => (progress = done) });
    const file = await openGguf(path);
    const expected = syntheticTensors(TINY, 'q4_k_m');
    assert.deepEqual(
      file.tensors.map((t) => [t.name, t.shape, t.dtype]),
      expected.map((t) => [t.name, t.shape, t.type]),
    );
    assert.equal(progress, syntheticTensorBytes(TINY, 'q4_k_m'));
    const typeOf = (name: string) => file.tensors.find((t) => t.name === name)?.dtype;
    assert.equal(typeOf('token_embd.weight'), 'q6_k', 'the tied embedding is the LM head: Q6_K');
    for (let i = 0; i < TINY.layers; i++) {
      const more = useMoreBits(i, TINY.layers) ? 'q6_k' : 'q4_k';
      assert.equal(typeOf(`blk.${i}.attn_v.weight`), more, `attn_v ${i}`);
      assert.equal(typeOf(`blk.${i}.ffn_down.weight`), more, `ffn_down ${i}`);
      assert.equal(typeOf(`blk.${i}.attn_q.weight`), 'q4_k');
    }
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => useMoreBits(i, 8)),
      [true, false, false, true, false, false, true, true],
      "llama.cpp's use_more_bits for 8 layers",
    );
    for (const t of file.tensors) {
      const bytes = await bytesAt(path, t.byteOffset, t.byteLength);
      const values =
        t.dtype && isQuantType(t.dtype)
          ? dequantize(t.dtype, bytes, t.shape[0], t.shape[1])
          : decodeValues(bytes, t.dtype as 'f32');
      assert.ok(
        values.every((v) => Number.isFinite(v)),
        `${t.name}: finite`,
      );
      const { std } = meanStd(values);
      if (t.shape.length === 2) {
        const target = t.name === 'token_embd.weight' ? 1 : 1 / Math.sqrt(t.shape[1]);
        assert.ok(std > target * 0.6 && std < target * 1.5, `${t.name}: std ${std}, target ${target}`);
      }
    }
    const model = await readGgufModel(path);
    assert.equal(model.config.hiddenSize, TINY.hidden);
    assert.equal(model.config.numLayers, TINY.layers);
    assert.equal(model.config.vocabSize, TINY.vocab);
    assert.equal(model.config.tieWordEmbeddings, true);
  });

  it('F16 and Q4_K_M twins run through the Engine to finite, in-vocabulary tokens', async () => {
    const gpu = await testGpu();
    for (const mix of ['f16', 'q4_k_m'] as const) {
      const path = join(root, `run-${mix}.gguf`);
      await writeSyntheticGguf(path, { shape: { ...TINY, layers: 2 }, mix });
      const model = await loadModel(gpu, path);
      try {
        const engine = await Engine.create(gpu, model, { cache: { pageSize: 16, memoryBytes: MB32 } });
        try {
          const request = { promptTokenIds: [300, 301, 302], sampling: greedy(3), logprobs: { topLogprobs: 1 } };
          const logprobs: number[] = [];
          const ids: number[] = [];
          for await (const e of engine.generate(request)) {
            if (e.type !== 'token') continue;
            ids.push(...e.ids);
            for (const l of e.logprobs ?? []) logprobs.push(l.logprob);
          }
          assert.equal(ids.length, 3, mix);
          assert.ok(
            ids.every((id) => id >= 0 && id < TINY.vocab),
            `${mix}: ${ids}`,
          );
          // NaN or infinite activations would make every logprob NaN (or -Infinity for the chosen token).
          assert.equal(logprobs.length, 3, mix);
          assert.ok(
            logprobs.every((l) => Number.isFinite(l)),
            `${mix}: finite logprobs ${logprobs}`,
          );
        } finally {
          await engine.close();
        }
      } finally {
        model.dispose();
      }
    }
  });
});
