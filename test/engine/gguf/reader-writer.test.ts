/**
 * GGUF written by engine/gguf/writer.ts reads back identically through engine/gguf/reader.ts: every metadata value
 * type (nested arrays included), v2 and v3, custom alignment, every ggml tensor type as raw bytes at the right
 * offsets, shapes in Hugging Face order, and the tensor bytes streamed back by offset.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GGML_TYPES } from '../../../engine/gguf/ggml-types.ts';
import { GgufMetadata, shortestF32Decimal } from '../../../engine/gguf/metadata.ts';
import { openGguf } from '../../../engine/gguf/reader.ts';
import { type GgufValue, gguf } from '../../../engine/gguf/values.ts';
import { type GgufTensorToWrite, writeGguf } from '../../../engine/gguf/writer.ts';
import { readTensorChunks } from '../../../engine/model/safetensors.ts';
import { Rng } from '../../helpers/random.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-rw-'));
});
after(() => rm(root, { recursive: true, force: true }));

const METADATA: [string, GgufValue][] = [
  ['general.architecture', gguf.string('llama')],
  ['t.u8', gguf.u8(255)],
  ['t.i8', gguf.i8(-128)],
  ['t.u16', gguf.u16(65535)],
  ['t.i16', gguf.i16(-32768)],
  ['t.u32', gguf.u32(4294967295)],
  ['t.i32', gguf.i32(-2147483648)],
  ['t.f32', gguf.f32(Math.fround(1e-5))],
  ['t.f64', gguf.f64(Math.PI)],
  ['t.u64', gguf.u64(18446744073709551615n)],
  ['t.i64', gguf.i64(-9223372036854775808n)],
  ['t.bool.true', gguf.bool(true)],
  ['t.bool.false', gguf.bool(false)],
  ['t.string', gguf.string('ünïcödé 日本語 😀 "quoted"\n\0 nul')],
  ['t.string.empty', gguf.string('')],
  ['t.array.u8', gguf.array('u8', new Uint8Array([0, 1, 255]))],
  ['t.array.i8', gguf.array('i8', new Int8Array([-128, 0, 127]))],
  ['t.array.u16', gguf.array('u16', new Uint16Array([0, 65535]))],
  ['t.array.i16', gguf.array('i16', new Int16Array([-32768, 32767]))],
  ['t.array.u32', gguf.array('u32', new Uint32Array([0, 4294967295]))],
  ['t.array.i32', gguf.array('i32', new Int32Array([-1, 1, 5]))],
  ['t.array.f32', gguf.array('f32', new Float32Array([-0.5, 1e30, -1e-30]))],
  ['t.array.f64', gguf.array('f64', new Float64Array([Math.E, -1e300]))],
  ['t.array.u64', gguf.array('u64', new BigUint64Array([0n, 18446744073709551615n]))],
  ['t.array.i64', gguf.array('i64', new BigInt64Array([-1n, 9223372036854775807n]))],
  ['t.array.bool', gguf.array('bool', [true, false, true])],
  ['t.array.string', gguf.strings(['a', '', 'Ġhello', '▁world', '<0x0A>'])],
  ['t.array.empty', gguf.array('u32', new Uint32Array(0))],
  [
    't.array.nested',
    gguf.array('array', [
      gguf.strings(['x', 'y']),
      gguf.array('array', [gguf.array('i32', new Int32Array([7, 8]))]),
      gguf.array('bool', []),
    ]),
  ],
];

/** A tensor of every ggml type: random bytes of the size its blocks need. */
function everyTypeTensors(rng: Rng): GgufTensorToWrite[] {
  return GGML_TYPES.map((t, i) => {
    const shape = [2 + (i % 3), t.blockElements * (1 + (i % 2))];
    const bytes = (shape[0] * shape[1] * t.blockBytes) / t.blockElements;
    return {
      name: `tensor.${t.name}`,
      shape,
      type: t.id,
      data: Uint8Array.from({ length: bytes }, () => rng.int(0, 255)),
    };
  });
}

async function tensorBytes(file: string, byteOffset: number, byteLength: number, name: string): Promise<Uint8Array> {
  const out = new Uint8Array(byteLength);
  await readTensorChunks({ name, dtype: 'f32', shape: [byteLength], file, byteOffset, byteLength }, 64, (c, at) =>
    out.set(c, at),
  );
  return out;
}

describe('GGUF reader/writer round trip', () => {
  for (const version of [2, 3] as const) {
    for (const alignment of [undefined, 64]) {
      it(`v${version}, alignment ${alignment ?? 'default (32)'}: every metadata type and tensor type`, async () => {
        const rng = new Rng(version * 100 + (alignment ?? 0));
        const tensors = everyTypeTensors(rng);
        const metadata = alignment
          ? [...METADATA, ['general.alignment', gguf.u32(alignment)] as [string, GgufValue]]
          : METADATA;
        const path = join(root, `rt-v${version}-${alignment}.gguf`);
        await writeGguf(path, { metadata, tensors, version });
        const file = await openGguf(path);

        assert.equal(file.version, version);
        assert.equal(file.alignment, alignment ?? 32);
        assert.equal(file.dataOffset % file.alignment, 0);
        assert.equal(file.fileSize, (await stat(path)).size);
        assert.deepEqual(
          [...file.metadata.keys()],
          metadata.map(([k]) => k),
        );
        for (const [key, value] of metadata) assert.deepEqual(file.metadata.get(key), value, key);

        assert.equal(file.tensors.length, tensors.length);
        for (const [i, t] of tensors.entries()) {
          const info = file.tensors[i];
          const type = GGML_TYPES[i];
          assert.equal(info.name, t.name);
          assert.deepEqual(info.shape, t.shape, `${t.name}: shape in HF order`);
          assert.deepEqual(info.ne, [...t.shape].reverse(), `${t.name}: ne in ggml order`);
          assert.equal(info.ggmlTypeId, type.id);
          assert.equal(info.ggmlType, type.name);
          assert.equal(info.dtype, type.dtype ?? null);
          assert.equal(info.byteLength, t.data.length);
          assert.equal((info.byteOffset - file.dataOffset) % file.alignment, 0, `${t.name} is aligned`);
          assert.deepEqual(await tensorBytes(path, info.byteOffset, info.byteLength, t.name), t.data, t.name);
        }
      });
    }
  }

  it('writes the exact bytes of the GGUF layout (magic, version, counts, a key, a tensor info)', async () => {
    const path = join(root, 'layout.gguf');
    const data = new Uint8Array(8).fill(7);
    await writeGguf(path, { metadata: [['k', gguf.u32(5)]], tensors: [{ name: 'w', shape: [2], type: 'f32', data }] });
    const b = await readFile(path);
    assert.equal(b.subarray(0, 4).toString('latin1'), 'GGUF');
    assert.equal(b.readUInt32LE(4), 3);
    assert.equal(b.readBigUInt64LE(8), 1n); // tensors
    assert.equal(b.readBigUInt64LE(16), 1n); // key/values
    assert.equal(b.readBigUInt64LE(24), 1n); // key length
    assert.equal(b.subarray(32, 33).toString(), 'k');
    assert.equal(b.readUInt32LE(33), 4); // u32
    assert.equal(b.readUInt32LE(37), 5);
    assert.equal(b.readBigUInt64LE(41), 1n); // name length
    assert.equal(b.subarray(49, 50).toString(), 'w');
    assert.equal(b.readUInt32LE(50), 1); // n_dims
    assert.equal(b.readBigUInt64LE(54), 2n); // ne[0]
    assert.equal(b.readUInt32LE(62), 0); // F32
    assert.equal(b.readBigUInt64LE(66), 0n); // offset
    assert.equal(b.length, 96 + 8); // header padded to 96, then the data
    assert.deepEqual([...b.subarray(96)], [...data]);
  });

  it('reads typed values through GgufMetadata, with errors naming the key', async () => {
    const path = join(root, 'typed.gguf');
    await writeGguf(path, { metadata: METADATA, tensors: [] });
    const m = new GgufMetadata(await openGguf(path));
    assert.throws(() => m.optionalCount('t.u64'), /must be a non-negative integer, found 18446744073709551615/);
    assert.equal(m.optionalCount('t.u8'), 255);
    assert.equal(m.optionalNumber('t.f32'), 1e-5, 'the f32 nearest 1e-5 reads back as 1e-5');
    assert.equal(shortestF32Decimal(Math.fround(0.1)), 0.1);
    assert.deepEqual(m.optionalStringArray('t.array.string'), ['a', '', 'Ġhello', '▁world', '<0x0A>']);
    assert.deepEqual(Array.from(m.optionalNumberArray('t.array.i64') ?? []), [-1, Number(2n ** 63n - 1n)]);
    assert.throws(() => m.optionalCount('t.i8'), /metadata t\.i8 must be a non-negative integer, found -128/);
    assert.throws(() => m.optionalCount('t.string'), /metadata t\.string must be an integer, found the string/);
    assert.throws(() => m.optionalCount('t.array.u32'), /t\.array\.u32 is an array of 2 u32: per-layer values/);
    assert.throws(() => m.string('missing.key'), /metadata missing\.key is missing/);
    assert.throws(() => m.optionalStringArray('t.array.i32'), /must be an array of strings, found an array of 3 i32/);
  });
});
