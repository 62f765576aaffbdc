/**
 * The safetensors reader and writer, and model folders of one file or shards: round trips per dtype, the exact byte
 * layout, every corruption giving an error that names the file and the problem, and streaming in chunks.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FloatDType, roundToDType } from '../../../engine/gpu/dtype.ts';
import { expectedTensors } from '../../../engine/model/config.ts';
import { ModelWeightsError, SafetensorsError } from '../../../engine/model/errors.ts';
import { matchExpectedTensors, openModelWeights } from '../../../engine/model/model-weights.ts';
import {
  openSafetensors,
  readTensor,
  readTensorChunks,
  type TensorData,
  type TensorEntry,
  writeSafetensors,
} from '../../../engine/model/safetensors.ts';
import { corruptions, type TinyModel, writeTinyModel } from '../../fixtures/tiny-model.ts';
import { Rng } from '../../helpers/random.ts';

let root: string;
let count = 0;
/** A fresh folder per test, all removed at the end. */
async function freshDir(): Promise<string> {
  const dir = join(root, `t${count++}`);
  await mkdir(dir);
  return dir;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-safetensors-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * A tiny untied Llama (f16), written once per shard count and copied for each test that needs one: writing the
 * 128k-token embeddings costs about a second, a copy a few milliseconds. Tests may break their copy.
 */
const templates = new Map<number, Promise<TinyModel>>();
async function tinyLlama(shards: number): Promise<TinyModel> {
  if (!templates.has(shards)) {
    templates.set(
      shards,
      freshDir().then((dir) => writeTinyModel(dir, { architecture: 'llama', dtype: 'f16', shards })),
    );
  }
  const { dir: from, ...rest } = await templates.get(shards)!;
  const dir = await freshDir();
  await cp(from, dir, { recursive: true });
  const moved = (path: string) => join(dir, path.slice(from.length));
  const paths = { ...rest.paths, weights: rest.paths.weights.map(moved) };
  for (const key of ['config', 'generationConfig', 'tokenizer', 'tokenizerConfig'] as const)
    paths[key] = moved(paths[key]);
  if (paths.index) paths.index = moved(paths.index);
  return { ...rest, dir, paths };
}

/** A tensor's bytes as stored (comparing these is much faster than deepEqual on millions of decoded floats). */
async function rawBytes(entry: TensorEntry): Promise<Buffer> {
  const out = Buffer.alloc(entry.byteLength);
  await readTensorChunks(entry, 1 << 20, (bytes, offset) => out.set(bytes, offset));
  return out;
}

type RawFile = [header: unknown, data?: Uint8Array, headerLength?: bigint];

/** A safetensors file from a raw header object and data bytes, for headers no correct writer would produce. */
async function writeRaw(path: string, ...[header, data = new Uint8Array(0), headerLength]: RawFile) {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(json.byteLength));
  await writeFile(path, Buffer.concat([prefix, json, data]));
}

function randomTensors(rng: Rng, dtype: FloatDType): TensorData[] {
  return [
    { name: 'a.weight', dtype, shape: [3, 5], data: rng.normals(15) },
    { name: 'b.bias', dtype, shape: [7], data: rng.normals(7, 100) },
    { name: 'scalar', dtype, shape: [], data: rng.normals(1) },
    { name: 'empty', dtype, shape: [0, 4], data: new Float32Array(0) },
  ];
}

describe('round trip', () => {
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    it(`${dtype}: values rounded to the dtype, shapes, metadata, aligned data`, async () => {
      const path = join(await freshDir(), 'x.safetensors');
      const tensors = randomTensors(new Rng(7), dtype);
      await writeSafetensors(path, tensors, { format: 'pt', note: 'hi' });
      const file = await openSafetensors(path);
      assert.deepEqual(file.metadata, { format: 'pt', note: 'hi' });
      assert.equal(file.dataOffset % 8, 0);
      assert.deepEqual([...file.tensors.keys()], ['a.weight', 'b.bias', 'scalar', 'empty']);
      for (const t of tensors) {
        const entry = file.tensors.get(t.name)!;
        assert.equal(entry.dtype, dtype);
        assert.deepEqual(entry.shape, t.shape);
        assert.equal(entry.file, path);
        assert.deepEqual(await readTensor(entry), roundToDType(t.data, dtype), t.name);
      }
    });
  }

  it('writes the reference layout: u64 LE length, compact JSON padded with spaces to 8, data in order', async () => {
    const path = join(await freshDir(), 'x.safetensors');
    await writeSafetensors(path, [{ name: 'w', dtype: 'f32', shape: [2], data: new Float32Array([1, -2]) }]);
    const bytes = await readFile(path);
    const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = json + ' '.repeat(8 - (json.length % 8));
    assert.equal(bytes.readBigUInt64LE(0), BigInt(padded.length));
    assert.equal(bytes.subarray(8, 8 + padded.length).toString(), padded);
    assert.deepEqual([...new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + padded.length))], [1, -2]);
  });

  it('refuses to write a tensor whose data does not fill its shape', async () => {
    const path = join(await freshDir(), 'x.safetensors');
    await assert.rejects(
      writeSafetensors(path, [{ name: 'w', dtype: 'f16', shape: [2, 2], data: new Float32Array(3) }]),
      {
        message: 'writeSafetensors: tensor w has 3 values for shape [2, 2]',
      },
    );
  });
});

describe('corrupt headers', () => {
  const cases: [string, () => RawFile, RegExp][] = [
    [
      'header length past the end of the file',
      () => [{}, new Uint8Array(0), 1000n],
      /: header length 1000 runs past the end of the file \(10 bytes\)/,
    ],
    ['malformed JSON', () => ['{"w": {"dtype": "F32",', new Uint8Array(0)], /: header is not valid JSON \(/],
    [
      'offsets past the end of the data (truncated)',
      () => [{ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)],
      /: tensor w: data_offsets \[0, 16\] run past the end of the data \(8 bytes\): the file is truncated/,
    ],
    [
      'offsets that disagree with shape and dtype',
      () => [{ w: { dtype: 'BF16', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)],
      /: tensor w: data_offsets \[0, 16\] hold 16 bytes, but shape \[4\] of BF16 needs 8$/,
    ],
    [
      'overlapping tensors',
      () => [
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ],
      /: tensors a \[0, 8\] and b \[4, 12\] overlap in data_offsets$/,
    ],
    [
      'an unsupported dtype',
      () => [{ q: { dtype: 'I8', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4)],
      /: tensor q has dtype I8; supported: F32, F16, BF16$/,
    ],
    [
      'begin after end',
      () => [{ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, new Uint8Array(8)],
      /: tensor w: data_offsets \[8,0\] is not a \[begin, end\] pair with begin <= end$/,
    ],
    [
      'a negative dimension',
      () => [{ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }],
      /: tensor w: shape \[-1\] is not a list of non-negative integers$/,
    ],
    [
      '__metadata__ that is not strings',
      () => [{ __metadata__: { format: 1 } }],
      /: __metadata__ must be an object of strings$/,
    ],
    ['a header that is an array', () => [[1, 2]], /: header is not a JSON object$/],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const path = join(await freshDir(), 'bad.safetensors');
      await writeRaw(path, ...make());
      await assert.rejects(openSafetensors(path), (error: Error) => {
        assert.ok(error instanceof SafetensorsError, error.message);
        assert.ok(error.message.startsWith(`${path}: `), error.message);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('a file shorter than the length prefix', async () => {
    const path = join(await freshDir(), 'short.safetensors');
    await writeFile(path, new Uint8Array(5));
    await assert.rejects(openSafetensors(path), {
      message: `${path}: is 5 bytes, too short for a safetensors file (8-byte header length, then a JSON header)`,
    });
  });

  it('a missing file', async () => {
    const path = join(await freshDir(), 'none.safetensors');
    await assert.rejects(
      openSafetensors(path),
      (e: Error) => e instanceof SafetensorsError && e.message.startsWith(path),
    );
  });

  it('a file truncated after opening fails on read, naming the file', async () => {
    const path = join(await freshDir(), 'x.safetensors');
    await writeSafetensors(path, [{ name: 'w', dtype: 'f32', shape: [64], data: new Float32Array(64) }]);
    const file = await openSafetensors(path);
    await truncate(path, file.dataOffset + 10);
    await assert.rejects(readTensor(file.tensors.get('w')!), (e: Error) => {
      assert.ok(e instanceof SafetensorsError);
      assert.match(e.message, new RegExp(`^${path}: ended at byte \\d+ while \\d+ more bytes were expected`));
      return true;
    });
  });
});

describe('model folders', () => {
  it('shards hold the same tensors as one file', async () => {
    const single = await tinyLlama(1);
    const sharded = await tinyLlama(3);
    assert.equal(sharded.paths.weights.length, 3);
    const a = await openModelWeights(single.dir);
    const b = await openModelWeights(sharded.dir);
    assert.equal(b.files.length, 3);
    assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
    assert.equal(b.totalBytes, a.totalBytes);
    for (const [name, entry] of a.tensors) {
      assert.deepEqual(b.tensors.get(name)!.shape, entry.shape);
      assert.ok((await rawBytes(b.tensors.get(name)!)).equals(await rawBytes(entry)), name);
    }
  });

  it('a folder without weights says what it found', async () => {
    const dir = await freshDir();
    await assert.rejects(openModelWeights(dir), {
      message: `${dir}: no model.safetensors or model.safetensors.index.json in the model folder`,
    });
    await writeFile(join(dir, 'pytorch_model.bin'), '');
    await assert.rejects(openModelWeights(dir), (e: Error) => {
      assert.ok(e instanceof ModelWeightsError);
      assert.match(e.message, /\(found pytorch_model\.bin: only safetensors weights are supported/);
      return true;
    });
  });

  describe('the shard index', () => {
    async function withIndex(weightMap: unknown): Promise<string> {
      const dir = await freshDir();
      await writeSafetensors(join(dir, 'part-1.safetensors'), [
        { name: 'w', dtype: 'f32', shape: [1], data: new Float32Array(1) },
      ]);
      await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
      return dir;
    }
    const cases: [string, unknown, string][] = [
      [
        'a path escaping the folder with ..',
        { w: '../part-1.safetensors' },
        'weight_map maps w to "../part-1.safetensors": shard files must be relative paths inside the folder',
      ],
      [
        'an absolute path',
        { w: '/etc/passwd' },
        'weight_map maps w to "/etc/passwd": shard files must be relative paths inside the folder',
      ],
      [
        'a Windows-style escape',
        { w: 'sub\\..\\..\\x.safetensors' },
        'weight_map maps w to "sub\\\\..\\\\..\\\\x.safetensors": shard files must be relative paths inside the folder',
      ],
      [
        'a shard that is not there',
        { w: 'part-2.safetensors' },
        'weight_map maps w to part-2.safetensors, which is not in',
      ],
      [
        'a tensor the shard does not hold',
        { w: 'part-1.safetensors', v: 'part-1.safetensors' },
        'weight_map maps v to part-1.safetensors, but part-1.safetensors has no tensor v',
      ],
      ['a weight_map that is not an object', ['w'], 'has no weight_map object (tensor name -> shard file)'],
      ['an empty weight_map', {}, 'weight_map is empty'],
      ['a non-string file name', { w: 3 }, 'weight_map maps w to 3, not a file name'],
    ];
    for (const [what, weightMap, message] of cases) {
      it(what, async () => {
        const dir = await withIndex(weightMap);
        await assert.rejects(openModelWeights(dir), (e: Error) => {
          assert.ok(e instanceof ModelWeightsError, e.message);
          assert.ok(e.message.startsWith(`${join(dir, 'model.safetensors.index.json')}: ${message}`), e.message);
          return true;
        });
      });
    }

    it('malformed index JSON', async () => {
      const dir = await freshDir();
      await writeFile(join(dir, 'model.safetensors.index.json'), '{"weight_map": ');
      await assert.rejects(openModelWeights(dir), /model\.safetensors\.index\.json: is not valid JSON \(/);
    });
  });
});

describe('corruptions of a tiny model', () => {
  for (const shards of [1, 2]) {
    const label = shards === 1 ? 'model.safetensors' : 'shards';
    const model = () => tinyLlama(shards);
    const check = async (m: TinyModel) =>
      matchExpectedTensors(await openModelWeights(m.dir), expectedTensors(m.config));

    it(`${label}: truncated file`, async () => {
      const { dir } = await model();
      const { path } = await corruptions.truncatedSafetensors(dir);
      await assert.rejects(openModelWeights(dir), (e: Error) => {
        assert.ok(e instanceof SafetensorsError);
        assert.match(e.message, /run past the end of the data .* the file is truncated; download it again$/);
        assert.ok(e.message.startsWith(`${path}: tensor `), e.message);
        return true;
      });
    });

    it(`${label}: header length past the end`, async () => {
      const { dir } = await model();
      const { path } = await corruptions.headerPastEnd(dir);
      await assert.rejects(openModelWeights(dir), (e: Error) => {
        assert.ok(e instanceof SafetensorsError);
        assert.match(e.message, /^.*: header length \d+ runs past the end of the file \(\d+ bytes\)/);
        assert.ok(e.message.startsWith(path));
        return true;
      });
    });

    it(`${label}: unsupported dtype I8`, async () => {
      const { dir } = await model();
      const { path } = await corruptions.unsupportedDtype(dir);
      await assert.rejects(openModelWeights(dir), {
        message: `${path}: tensor model.norm.weight has dtype I8; supported: F32, F16, BF16`,
      });
    });

    it(`${label}: missing tensor`, async () => {
      const m = await model();
      const dir = m.dir;
      await corruptions.missingTensor(dir);
      await assert.rejects(check(m), {
        message:
          `${dir}: the weights do not match config.json: missing tensor model.layers.0.mlp.up_proj.weight ` +
          '(expected shape [128, 64])',
      });
    });

    it(`${label}: wrong tensor shape`, async () => {
      const m = await model();
      const dir = m.dir;
      const { path } = await corruptions.wrongTensorShape(dir);
      await assert.rejects(check(m), {
        message:
          `${dir}: the weights do not match config.json: tensor model.layers.0.mlp.up_proj.weight has shape ` +
          `[64, 128] in ${path}, but config.json implies [128, 64]`,
      });
    });
  }

  it('extra tensors are reported as unused, not rejected', async () => {
    const m = await tinyLlama(1);
    const tied = { ...m.config, tieWordEmbeddings: true };
    const { unused } = matchExpectedTensors(await openModelWeights(m.dir), expectedTensors(tied));
    assert.deepEqual(unused, ['lm_head.weight']);
  });
});

describe('readTensorChunks', () => {
  it('chunks reassemble the tensor, in order, awaiting each callback', async () => {
    const path = join(await freshDir(), 'x.safetensors');
    const data = new Rng(11).normals(1001);
    await writeSafetensors(path, [
      { name: 'pad', dtype: 'f16', shape: [3], data: new Float32Array(3) },
      { name: 'w', dtype: 'f16', shape: [7, 143], data },
    ]);
    const entry = (await openSafetensors(path)).tensors.get('w')!;
    assert.equal(entry.byteLength, 2002);
    for (const chunkBytes of [4, 12, 1000, 2000, 2004, 1 << 20]) {
      const out: Uint8Array = new Uint8Array(entry.byteLength);
      const offsets: number[] = [];
      let pending = false;
      await readTensorChunks(entry, chunkBytes, async (bytes, offset) => {
        assert.equal(pending, false, 'callbacks overlapped');
        pending = true;
        assert.ok(bytes.byteLength <= chunkBytes);
        out.set(bytes, offset); // copy: the chunk's memory is reused
        offsets.push(offset);
        await new Promise((resolve) => setTimeout(resolve, 0));
        pending = false;
      });
      assert.deepEqual(
        offsets,
        Array.from({ length: Math.ceil(2002 / chunkBytes) }, (_, i) => i * chunkBytes),
      );
      const raw = (await readFile(path)).subarray(entry.byteOffset, entry.byteOffset + entry.byteLength);
      assert.deepEqual(Buffer.from(out), raw, `chunkBytes ${chunkBytes}`);
    }
    assert.deepEqual(await readTensor(entry), roundToDType(data, 'f16'));
  });

  it('rejects a chunk size that is not a positive multiple of 4', async () => {
    const path = join(await freshDir(), 'x.safetensors');
    await writeSafetensors(path, [{ name: 'w', dtype: 'f32', shape: [2], data: new Float32Array(2) }]);
    const entry = (await openSafetensors(path)).tensors.get('w')!;
    await assert.rejects(
      readTensorChunks(entry, 6, () => {}),
      RangeError,
    );
    await assert.rejects(
      readTensorChunks(entry, 0, () => {}),
      RangeError,
    );
  });
});
