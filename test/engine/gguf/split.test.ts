/**
 * Split GGUF models (llama.cpp's gguf-split layout: <name>-00001-of-00003.gguf, split.no / split.count /
 * split.tensors.count) open as one model, by any part's path or by their folder, and run exactly as the same model in
 * one file; a missing, truncated or mismatched part, or a part renamed out of its split, is refused naming the part.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { describeGguf } from '../../../engine/gguf/describe.ts';
import { GgufError } from '../../../engine/gguf/errors.ts';
import { readGgufModel } from '../../../engine/gguf/gguf-model.ts';
import { openGguf } from '../../../engine/gguf/reader.ts';
import { openGgufModel, parseSplitName } from '../../../engine/gguf/split.ts';
import { type SyntheticShape, writeSyntheticGguf } from '../../../engine/gguf/synthetic-model.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { readModelFolder } from '../../../engine/model/model-folder.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32 } from '../serving/engine-fixture.ts';

/** A synthetic tiny model (a 512-token vocabulary: every open builds its tokenizer in milliseconds). */
const TINY: SyntheticShape = {
  architecture: 'qwen3',
  vocab: 512,
  hidden: 256,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  intermediate: 512,
  contextLength: 512,
  tiedEmbeddings: true,
};

let root: string;
let single: string;
let parts: string[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-split-'));
  single = join(root, 'single.gguf');
  await writeSyntheticGguf(single, { shape: TINY, mix: 'f16', seed: 4 });
  await mkdir(join(root, 'split'));
  parts = await writeSyntheticGguf(join(root, 'split', 'tiny-F16.gguf'), {
    shape: TINY,
    mix: 'f16',
    seed: 4,
    split: 3,
  });
});
after(() => rm(root, { recursive: true, force: true }));

/** A fresh copy of the split (tests that break one part work on their own copy). */
async function copyOfSplit(name: string): Promise<string[]> {
  const dir = join(root, name);
  await mkdir(dir);
  const out: string[] = [];
  for (const p of parts) {
    out.push(join(dir, basename(p)));
    await copyFile(p, out[out.length - 1]);
  }
  return out;
}

async function greedyTokens(model: LoadedModel): Promise<number[][]> {
  const engine = await Engine.create(await testGpu(), model, { cache: { pageSize: 16, memoryBytes: MB32 } });
  try {
    const out: number[][] = [];
    for (const p of [[300, 301, 302, 303, 304, 305]])
      out.push((await collect(engine.generate({ promptTokenIds: p, sampling: greedy(6) }))).ids);
    return out;
  } finally {
    await engine.close();
  }
}

describe('split GGUF models', () => {
  it("are written as gguf-split names them, with the split keys; part 1 alone has the model's metadata", async () => {
    assert.deepEqual(
      parts.map((p) => basename(p)),
      ['tiny-F16-00001-of-00003.gguf', 'tiny-F16-00002-of-00003.gguf', 'tiny-F16-00003-of-00003.gguf'],
    );
    assert.deepEqual(parseSplitName(parts[1]), { prefix: join(root, 'split', 'tiny-F16'), part: 2, count: 3 });
    const files = await Promise.all(parts.map((p) => openGguf(p)));
    files.forEach((f, i) => {
      assert.deepEqual(f.metadata.get('split.no'), { type: 'u16', value: i });
      assert.deepEqual(f.metadata.get('split.count'), { type: 'u16', value: 3 });
      assert.equal(f.metadata.has('general.architecture'), i === 0);
      assert.ok(f.tensors.length > 0);
    });
    const total = files.reduce((n, f) => n + f.tensors.length, 0);
    assert.deepEqual(files[0].metadata.get('split.tensors.count'), { type: 'i32', value: total });
  });

  it('open as one model by any part or by their folder: the config and tensors of the single file', async () => {
    const whole = await readGgufModel(single);
    for (const path of [parts[0], parts[2], join(root, 'split')]) {
      const m = path.endsWith('.gguf') ? await readGgufModel(path) : await readModelFolder(path);
      assert.equal(m.dir, parts[0], 'named by its first part');
      assert.deepEqual(m.config, whole.config);
      assert.deepEqual([...m.weights.tensors.keys()].sort(), [...whole.weights.tensors.keys()].sort());
      assert.deepEqual(
        m.weights.files.map((f) => f.path),
        parts,
      );
      const holders = new Set([...m.weights.tensors.values()].map((t) => t.file));
      assert.equal(holders.size, 3, 'tensors are read from all three parts');
    }
    const d = await describeGguf(parts[1]);
    assert.equal(d.runnable, true, d.reason);
    const sizes = await Promise.all(parts.map((p) => stat(p).then((s) => s.size)));
    assert.equal(
      d.fileSize,
      sizes.reduce((a, b) => a + b, 0),
    );
    const singleFile = await openGguf(single);
    assert.equal(
      d.parameters,
      singleFile.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0),
    );
  });

  it('run exactly as the same model in one file', async () => {
    const gpu = await testGpu();
    const a = await loadModel(gpu, single);
    let expected: number[][];
    try {
      expected = await greedyTokens(a);
    } finally {
      a.dispose();
    }
    const b = await loadModel(gpu, parts[0]);
    try {
      assert.deepEqual(await greedyTokens(b), expected);
    } finally {
      b.dispose();
    }
  });

  it('a missing part is named', async () => {
    const copy = await copyOfSplit('missing');
    await rm(copy[1]);
    await assert.rejects(openGgufModel(copy[2]), (e: Error) => {
      assert.ok(e instanceof GgufError);
      assert.match(e.message, /is split in 3 files, and part tiny-F16-00002-of-00003\.gguf is missing/);
      return true;
    });
  });

  it('a truncated part is checked like a single file, and named', async () => {
    const copy = await copyOfSplit('truncated');
    await truncate(copy[2], (await stat(copy[2])).size - 10);
    await assert.rejects(openGgufModel(copy[0]), (e: Error) => {
      assert.ok(e instanceof GgufError);
      assert.ok(e.message.startsWith(copy[2]), e.message);
      assert.match(e.message, /truncated/);
      return true;
    });
  });

  it('a part from another place in the split (renamed) is named', async () => {
    const copy = await copyOfSplit('mismatched');
    await copyFile(copy[1], copy[2]); // part 2's bytes under part 3's name
    await assert.rejects(openGgufModel(copy[0]), (e: Error) => {
      assert.ok(e instanceof GgufError);
      assert.ok(e.message.startsWith(copy[2]), e.message);
      assert.match(e.message, /says it is part 2 of 3, but its name makes it part 3 of 3/);
      return true;
    });
  });

  it('a part under a plain name is refused with how to fix it', async () => {
    const plain = join(root, 'renamed.gguf');
    await copyFile(parts[0], plain);
    await assert.rejects(
      readGgufModel(plain),
      /is part 1 of a model split in 3 files, but its name does not say which/,
    );
  });
});
