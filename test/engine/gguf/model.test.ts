/**
 * A GGUF file opens as the same model as its safetensors original: the same ModelConfig for every architecture the
 * engine runs (RoPE scaling included), the same tensors under Hugging Face names with identical values (q/k rows
 * un-permuted for "llama"), quantized tensors as their QuantType; GGUF files are found by path or in a folder; and
 * files the engine cannot run are refused with errors that name the problem.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeGguf } from '../../../engine/gguf/describe.ts';
import { GgufError } from '../../../engine/gguf/errors.ts';
import { readGgufModel } from '../../../engine/gguf/gguf-model.ts';
import { gguf } from '../../../engine/gguf/values.ts';
import type { ModelConfig } from '../../../engine/model/config.ts';
import { UnsupportedArchitectureError } from '../../../engine/model/errors.ts';
import { readModelFolder } from '../../../engine/model/model-folder.ts';
import { readTensor } from '../../../engine/model/safetensors.ts';
import { quantize } from '../../../engine/quant/quantize.ts';
import { type GgufFixtureOptions, writeGgufFromTinyModel } from '../../fixtures/gguf-fixture.ts';
import {
  TINY_ARCHITECTURES,
  type TinyModel,
  type TinyModelOptions,
  writeTinyModel,
} from '../../fixtures/tiny-model.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-model-'));
});
after(() => rm(root, { recursive: true, force: true }));

let count = 0;
async function tinyGguf(
  options: Partial<TinyModelOptions> & Pick<TinyModelOptions, 'architecture'>,
  fixture: GgufFixtureOptions = {},
): Promise<{ tiny: TinyModel; path: string }> {
  const dir = join(root, `m${count++}`);
  const tiny = await writeTinyModel(dir, { dtype: 'f32', seed: 5, ...options });
  const path = `${dir}.gguf`;
  await writeGgufFromTinyModel(tiny, path, fixture);
  return { tiny, path };
}

/** What GGUF does not carry: the dtype config.json names; eos ids compared as a set (GGUF finds them by name). */
function comparable(c: ModelConfig) {
  return { ...c, torchDtype: undefined, eosTokenIds: [...c.eosTokenIds].sort() };
}

describe('GGUF models open as their safetensors originals', () => {
  for (const architecture of TINY_ARCHITECTURES) {
    it(`${architecture}: the same config, tensors and values`, async () => {
      const { tiny, path } = await tinyGguf(
        // F32 for llama (the F32 path), F16 for the others (half the bytes to write and compare).
        { architecture, dtype: architecture === 'llama' ? 'f32' : 'f16' },
        { type: architecture === 'llama' ? 'f32' : 'f16' },
      );
      const [hf, g] = await Promise.all([readModelFolder(tiny.dir), readGgufModel(path)]);
      assert.deepEqual(comparable(g.config), comparable(hf.config));
      assert.deepEqual(g.expected, hf.expected);
      assert.deepEqual([...g.weights.tensors.keys()].sort(), [...hf.expected.keys()].sort());
      for (const name of hf.expected.keys()) {
        const [a, b] = [g.weights.tensors.get(name)!, hf.weights.tensors.get(name)!];
        assert.deepEqual(a.shape, b.shape, name);
        assert.equal(a.file, path);
        const permuted = (architecture === 'llama' || architecture === 'mistral') && /[qk]_proj\.weight$/.test(name);
        assert.equal(a.ropeInterleavedHeadDim, permuted ? hf.config.headDim : undefined, name);
        assert.deepEqual(await readTensor(a), await readTensor(b), `${name}: the same values`);
      }
    });
  }

  it('Llama 3 RoPE scaling comes back from rope_freqs.weight; linear scaling from rope.scaling.*', async () => {
    const llama3 = {
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    } as const;
    const a = await tinyGguf({ architecture: 'llama', ropeScaling: llama3, layers: 1 });
    assert.deepEqual((await readGgufModel(a.path)).config.rope.scaling, llama3);
    const b = await tinyGguf({ architecture: 'llama', ropeScaling: { type: 'linear', factor: 4 }, layers: 1 });
    assert.deepEqual((await readGgufModel(b.path)).config.rope.scaling, { type: 'linear', factor: 4 });
  });

  it('quantized tensors open as their QuantType and read back dequantized', async () => {
    const { tiny, path } = await tinyGguf(
      { architecture: 'qwen3', layers: 1 },
      { type: (name) => (name.includes('mlp') ? 'q4_0' : 'q8_0'), quantize },
    );
    const [hf, g] = await Promise.all([readModelFolder(tiny.dir), readGgufModel(path)]);
    const up = g.weights.tensors.get('model.layers.0.mlp.up_proj.weight')!;
    const q = g.weights.tensors.get('model.layers.0.self_attn.q_proj.weight')!;
    assert.equal(up.dtype, 'q4_0');
    assert.equal(q.dtype, 'q8_0');
    assert.equal(q.byteLength, (q.shape[0] * q.shape[1] * 34) / 32);
    assert.equal(g.weights.tensors.get('model.norm.weight')!.dtype, 'f32', '1-D tensors stay F32');
    const described = await describeGguf(path);
    assert.equal(described.architecture, 'qwen3');
    assert.equal(described.quantization, 'Q8_0', 'general.file_type names the quantization');
    assert.deepEqual(described.tensorTypes, { F32: 5, Q8_0: 5, Q4_0: 3 }); // 4 norms + final norm; embeddings, q, k, v, o; the MLP
    const parameters = [...g.expected.values()].reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(described.parameters, parameters);
    assert.equal(described.contextLength, tiny.config.maxPositionEmbeddings);
    assert.equal(described.runnable, true);
    const exact = await readTensor(hf.weights.tensors.get(q.name)!);
    const back = await readTensor(q);
    const maxAbs = exact.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const err = exact.reduce((m, v, i) => Math.max(m, Math.abs(v - back[i])), 0);
    assert.ok(err > 0 && err < maxAbs / 100, `q8_0 round trip error ${err} (max |w| ${maxAbs})`);
  });
});

describe('finding and refusing GGUF models', () => {
  it('a folder holding one .gguf (a vision projector beside it is ignored), or the file itself', async () => {
    const { path } = await tinyGguf({ architecture: 'qwen2', layers: 1 });
    const folder = join(root, 'lmstudio', 'Qwen');
    await mkdir(folder, { recursive: true });
    await copyFile(path, join(folder, 'model-Q8_0.gguf'));
    await writeFile(join(folder, 'mmproj-model-f16.gguf'), 'not read');
    const viaFolder = await readModelFolder(folder);
    assert.equal(viaFolder.dir, join(folder, 'model-Q8_0.gguf'));
    assert.equal(viaFolder.config.architecture, 'Qwen2ForCausalLM');
    assert.equal((await readModelFolder(path)).config.family, 'qwen2');

    await copyFile(path, join(folder, 'model-F16.gguf'));
    await assert.rejects(
      readModelFolder(folder),
      /holds 2 GGUF files \(model-F16\.gguf, model-Q8_0\.gguf\); open one by its path/,
    );
    // A split model's parts are one model (test/engine/gguf/split.test.ts): here, its first part is opened and checked.
    const split = join(root, 'split');
    await mkdir(split);
    await writeFile(join(split, 'm-00001-of-00002.gguf'), '');
    await writeFile(join(split, 'm-00002-of-00002.gguf'), '');
    await assert.rejects(readModelFolder(split), /m-00001-of-00002\.gguf: is 0 bytes, too short for a GGUF file/);
  });

  it('an architecture the engine does not run', async () => {
    const { path } = await tinyGguf(
      { architecture: 'llama', layers: 1 },
      { metadata: [['general.architecture', gguf.string('gemma3')]] },
    );
    await assert.rejects(readGgufModel(path), (e: Error) => {
      assert.ok(e instanceof UnsupportedArchitectureError);
      assert.match(
        e.message,
        /unsupported architecture GGUF architecture "gemma3" \(supported: llama, qwen2, qwen3, ernie4_5\)/,
      );
      return true;
    });
  });

  it('a tensor type the engine cannot run, a missing tensor, odd hyperparameters', async () => {
    const cases: [GgufFixtureOptions['metadata'], RegExp][] = [
      [
        [['llama.attention.value_length', gguf.u32(8)]],
        /llama\.attention\.value_length \(8\) differs from key_length \(16\)/,
      ],
      [[['llama.rope.dimension_count', gguf.u32(8)]], /rope\.dimension_count \(8\) rotates part of each head \(16\)/],
      [
        [['llama.feed_forward_length', gguf.array('u32', new Uint32Array([128, 128]))]],
        /feed_forward_length is an array of 2 u32: per-layer values are not supported/,
      ],
      [[['llama.attention.head_count_kv', gguf.u32(3)]], /head_count_kv \(3\) must divide head_count \(4\)/],
      [[['llama.rope.scaling.type', gguf.string('yarn')]], /rope\.scaling\.type "yarn" is not supported/],
      [[['llama.block_count', gguf.u32(3)]], /missing tensor blk\.2\.attn_norm\.weight \(expected shape \[64\]\)/],
    ];
    const { tiny } = await tinyGguf({ architecture: 'llama', layers: 2 });
    for (const [i, [metadata, pattern]] of cases.entries()) {
      const path = join(root, `odd-${i}.gguf`);
      await writeGgufFromTinyModel(tiny, path, { metadata });
      await assert.rejects(readGgufModel(path), (e: Error) => {
        assert.ok(e instanceof GgufError, `${e.name}: ${e.message}`);
        assert.ok(e.message.startsWith(path), e.message);
        assert.match(e.message, pattern);
        return true;
      });
    }
    // Q4_1 (ggml type 3): 20-byte blocks of 32.
    const { path } = await tinyGguf(
      { architecture: 'qwen3', layers: 1 },
      {
        replace: (name, shape) =>
          name === 'blk.0.ffn_up.weight'
            ? { type: 3, data: new Uint8Array((shape[0] * shape[1] * 20) / 32) }
            : undefined,
      },
    );
    await assert.rejects(
      readGgufModel(path),
      /tensor blk\.0\.ffn_up\.weight is Q4_1, a type the engine cannot run \(supported: F32, F16, Q4_0, Q8_0/,
    );
    const described = await describeGguf(path);
    assert.equal(described.runnable, false);
    assert.match(described.reason ?? '', /ffn_up\.weight is Q4_1, a type the engine cannot run/);
  });
});
