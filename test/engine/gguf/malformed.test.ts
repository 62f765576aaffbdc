/**
 * Malformed GGUF files give a GgufError that names the problem, before anything large is allocated: bad magic and
 * versions, absurd counts, dimensions, strings and arrays (claimed sizes up to 2^64 in files of a few bytes, and in a
 * sparse 1 GiB file where the size would fit), unknown types, tensors past the end, overlapping or misaligned,
 * duplicate names, and a file truncated at every byte of its header. Then 300 seeded mutations of a valid file: each
 * either parses or fails with a GgufError, never another exception, never a hang.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GgufError } from '../../../engine/gguf/errors.ts';
import { GGUF_LIMITS, openGguf } from '../../../engine/gguf/reader.ts';
import { gguf } from '../../../engine/gguf/values.ts';
import { encodeGguf } from '../../../engine/gguf/writer.ts';
import { Rng } from '../../helpers/random.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-bad-'));
});
after(() => rm(root, { recursive: true, force: true }));

// A GGUF file built field by field, independent of engine/gguf/writer.ts, so each field can be made wrong.
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u64 = (v: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const str = (s: string | Buffer) => {
  const bytes = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u64(bytes.length), bytes]);
};
const T = { u8: 0, u32: 4, bool: 7, string: 8, array: 9 };

interface Parts {
  magic?: Buffer;
  version?: number;
  tensorCount?: bigint | number;
  kvCount?: bigint | number;
  kvs?: Buffer[];
  infos?: Buffer[];
  /** Padding after the infos to the data section (default: to 32). */
  pad?: boolean;
  data?: Buffer;
}
const kv = (key: string | Buffer, type: number, value: Buffer) => Buffer.concat([str(key), u32(type), value]);
const info = (name: string, ne: (number | bigint)[], type: number, offset: number | bigint, nDims = ne.length) =>
  Buffer.concat([str(name), u32(nDims), ...ne.map(u64), u32(type), u64(offset)]);

function build(p: Parts): Buffer {
  const kvs = p.kvs ?? [kv('general.architecture', T.string, str('llama'))];
  const infos = p.infos ?? [info('w', [8, 2], 0, 0)];
  let header = Buffer.concat([
    p.magic ?? Buffer.from('GGUF'),
    u32(p.version ?? 3),
    u64(p.tensorCount ?? infos.length),
    u64(p.kvCount ?? kvs.length),
    ...kvs,
    ...infos,
  ]);
  if (p.pad !== false) header = Buffer.concat([header, Buffer.alloc((32 - (header.length % 32)) % 32)]);
  return Buffer.concat([header, p.data ?? Buffer.alloc(64, 1)]);
}

let n = 0;
async function fileOf(bytes: Uint8Array): Promise<string> {
  const path = join(root, `bad-${n++}.gguf`);
  await writeFile(path, bytes);
  return path;
}

async function rejects(bytes: Uint8Array | string, pattern: RegExp): Promise<void> {
  const path = typeof bytes === 'string' ? bytes : await fileOf(bytes);
  await assert.rejects(openGguf(path), (e: Error) => {
    assert.ok(e instanceof GgufError, `a GgufError, not ${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(`${path}: `), `names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('malformed GGUF: clear errors', () => {
  it('the base file used below is valid', async () => {
    const file = await openGguf(await fileOf(build({})));
    assert.equal(file.tensors[0].name, 'w');
    assert.deepEqual(file.tensors[0].shape, [2, 8]);
  });

  it('not a GGUF file: bad magic, too short, empty', async () => {
    await rejects(
      build({ magic: Buffer.from('GGML') }),
      /does not start with the GGUF magic "GGUF" \(found 47 47 4d 4c\)/,
    );
    await rejects(Buffer.from('{"safetensors": true}'), /does not start with the GGUF magic/);
    await rejects(Buffer.from('GGUF'), /is 4 bytes, too short for a GGUF file/);
    await rejects(Buffer.alloc(0), /is 0 bytes, too short/);
  });

  it('versions: 1 is obsolete, 4 unknown, big-endian refused', async () => {
    await rejects(build({ version: 1 }), /GGUF version 1, which is obsolete/);
    await rejects(build({ version: 4 }), /has GGUF version 4; supported: 2, 3/);
    await rejects(build({ version: 0x03000000 }), /big-endian GGUF file \(version 3\)/);
  });

  it('absurd tensor and key/value counts', async () => {
    await rejects(build({ tensorCount: 2n ** 63n }), /tensor count 9223372036854775808 is over the limit/);
    await rejects(build({ tensorCount: 1000 }), /tensor count 1000 cannot fit in the file's remaining/);
    await rejects(
      build({ kvCount: 2n ** 64n - 1n }),
      /metadata key\/value count 18446744073709551615 is over the limit/,
    );
    await rejects(build({ kvCount: 5000 }), /key\/value count 5000 cannot fit/);
  });

  it('absurd dimensions', async () => {
    await rejects(
      build({ infos: [info('w', [2n ** 62n, 2], 0, 0)] }),
      /tensor w has dimension 4611686018427387904 \(ne\[0\]\)/,
    );
    await rejects(
      build({ infos: [info('w', [2 ** 30, 2 ** 30], 0, 0)] }),
      /tensor w has dimension 1073741824 \(ne\[0\]\): more elements than the file could hold/,
    );
    // Each dimension fits, their product does not.
    await rejects(
      build({ infos: [info('w', [40, 50], 0, 0)] }),
      /tensor w has dimension 50 \(ne\[1\]\): more elements than the file could hold/,
    );
    await rejects(
      build({ infos: [info('w', [16, 8], 0, 0)] }),
      /tensor w of shape \[16, 8\] \(ggml order\) F32 needs 512 bytes, more than the file's 192/,
    );
    await rejects(
      build({ infos: [info('w', [8, 4], 0, 0)] }),
      /tensor w \(bytes 0 to 128 of the data section at byte 128\) runs past the end of the file \(192 bytes\)/,
    );
    await rejects(
      build({ infos: [info('w', [1, 1, 1, 1, 1], 0, 0)] }),
      /tensor w has 5 dimensions; ggml tensors have 1 to 4/,
    );
    await rejects(build({ infos: [info('w', [], 0, 0)] }), /tensor w has 0 dimensions/);
    await rejects(
      build({ infos: [info('w', [33, 1], 8, 0)] }),
      /tensor w: its rows \(ne\[0\] = 33\) are not whole Q8_0 blocks of 32/,
    );
  });

  it('huge strings and arrays in a tiny file', async () => {
    await rejects(
      build({ kvs: [Buffer.concat([u64(2n ** 62n), Buffer.from('k')])] }),
      /metadata entry 0 \(key\): a string of 4611686018427387904 bytes at byte 24 runs past the end/,
    );
    await rejects(
      build({ kvs: [kv('k', T.string, u64(2n ** 64n - 1n))] }),
      /metadata k: a string of 18446744073709551615 bytes at byte \d+ runs past the end/,
    );
    await rejects(
      build({ kvs: [kv('k', T.array, Buffer.concat([u32(T.u32), u64(2n ** 61n)]))] }),
      /metadata k: an array of 2305843009213693952 u32 needs at least 9223372036854775808 bytes, but only \d+ are left/,
    );
    await rejects(
      build({ kvs: [kv('k', T.array, Buffer.concat([u32(T.string), u64(1e9)]))] }),
      /an array of 1000000000 string needs at least 8000000000 bytes/,
    );
    await rejects(
      build({ infos: [info('x'.repeat(300), [8], 0, 0)] }),
      /tensor info 0 \(name\): a string of 300 bytes is over the 256-byte limit/,
    );
  });

  it('huge strings and arrays that would fit a sparse 1 GiB file: refused by the limits, not allocated', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const cases: [Buffer, RegExp][] = [
      [kv('k', T.string, u64(600 * 2 ** 20)), /a string of 629145600 bytes is over the 16777216-byte limit/],
      [
        kv('k', T.array, Buffer.concat([u32(T.u8), u64(500 * 2 ** 20)])),
        /an array of 524288000 items is over the limit of 16777216/,
      ],
      [
        kv('k', T.array, Buffer.concat([u32(T.string), u64(3 * 2 ** 21)])),
        /an array of 6291456 items is over the limit of 2097152/,
      ],
      [
        kv('k', T.array, Buffer.concat([u32(T.u32), u64(2 ** 24)])),
        /metadata k ends past byte 67108864: the header is larger than any model's/,
      ],
    ];
    for (const [entry, pattern] of cases) {
      const path = await fileOf(build({ kvs: [entry] }));
      await truncate(path, 2 ** 30); // sparse: no disk used, but the claimed sizes now fit the file
      await rejects(path, pattern);
      await rm(path);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 32 * 2 ** 20, `no large buffer was allocated (array buffers grew by ${grown} bytes)`);
  });

  it('more strings in the metadata than any vocabulary (limits lowered to keep the test fast)', async () => {
    const big = (key: string) => kv(key, T.array, Buffer.concat([u32(T.string), u64(500), Buffer.alloc(500 * 8)]));
    const path = await fileOf(build({ kvs: [big('a'), big('b'), big('c')] }));
    const limits = { totalObjectItems: 1000, objectArrayItems: 600 };
    await assert.rejects(
      openGguf(path, { limits }),
      /metadata c: the metadata holds more than 1000 strings and arrays/,
    );
    await assert.rejects(
      openGguf(path, { limits: { objectArrayItems: 400 } }),
      /metadata a: an array of 500 items is over the limit of 400/,
    );
    assert.equal((await openGguf(path)).metadata.size, 3, 'the default limits allow it');
  });

  it('unknown value types, unknown and removed tensor types', async () => {
    await rejects(
      build({ kvs: [kv('k', 13, u32(0))] }),
      /metadata k has unknown value type 13 \(GGUF defines 0 to 12\)/,
    );
    await rejects(
      build({ kvs: [kv('k', T.array, Buffer.concat([u32(77), u64(1)]))] }),
      /metadata k has unknown value type 77/,
    );
    await rejects(build({ infos: [info('w', [8, 2], 99, 0)] }), /tensor w: unknown ggml type 99/);
    await rejects(
      build({ infos: [info('w', [8, 2], 31, 0)] }),
      /tensor w: ggml type 31 \(Q4_0_4_4\) was removed from ggml/,
    );
    await rejects(build({ kvs: [kv('k', T.bool, Buffer.from([2]))] }), /metadata k: a bool must be 0 or 1, found 2/);
  });

  it('nested arrays: deep nesting refused', async () => {
    let value = Buffer.concat([u32(T.u8), u64(0)]);
    for (let i = 0; i < 6; i++) value = Buffer.concat([u32(T.array), u64(1), value]);
    await rejects(build({ kvs: [kv('k', T.array, value)] }), /metadata k: arrays nested deeper than 4/);
  });

  it('tensors past the end, overlapping, misaligned; duplicates', async () => {
    await rejects(
      build({ infos: [info('w', [8, 2], 0, 2n ** 40n)] }),
      /tensor w \(bytes 1099511627776 to 1099511627840 of the data section at byte \d+\) runs past the end of the file/,
    );
    await rejects(
      build({ infos: [info('w', [8, 2], 0, 32)], data: Buffer.alloc(40) }),
      /tensor w .* runs past the end of the file \(\d+ bytes\): the file is truncated/,
    );
    await rejects(
      build({ infos: [info('a', [8, 2], 0, 0), info('b', [8], 0, 32)] }),
      /tensors a \(bytes \d+-\d+\) and b \(from byte \d+\) overlap/,
    );
    await rejects(build({ infos: [info('a', [8], 0, 0), info('b', [8], 0, 0)] }), /tensors a .* and b .* overlap/);
    await rejects(
      build({ infos: [info('w', [8], 0, 16)] }),
      /tensor w: offset 16 is not a multiple of the alignment \(32\)/,
    );
    await rejects(build({ infos: [info('w', [8], 0, 0), info('w', [8], 0, 32)] }), /tensor w appears twice/);
    await rejects(
      build({ kvs: [kv('k', T.u8, Buffer.from([1])), kv('k', T.u8, Buffer.from([1]))] }),
      /metadata key k appears twice/,
    );
    await rejects(build({ kvs: [kv('', T.u8, Buffer.from([1]))] }), /metadata entry 0 has an empty key/);
    await rejects(
      build({ kvs: [kv(Buffer.from([0xff, 0xfe]), T.u8, Buffer.from([1]))] }),
      /metadata entry 0 \(key\): the text at byte 32 is not valid UTF-8/,
    );
  });

  it('bad general.alignment', async () => {
    await rejects(
      build({ kvs: [kv('general.alignment', T.u32, u32(24))] }),
      /general\.alignment 24 is not a power of two/,
    );
    await rejects(
      build({ kvs: [kv('general.alignment', T.u32, u32(0))] }),
      /general\.alignment 0 is not a power of two/,
    );
    await rejects(
      build({ kvs: [kv('general.alignment', T.u8, Buffer.from([32]))] }),
      /general\.alignment must be a u32, found u8/,
    );
  });

  it('truncated at every byte of the header, and in the tensor data', async () => {
    const whole = build({
      kvs: [
        kv('general.architecture', T.string, str('llama')),
        kv('tokens', T.array, Buffer.concat([u32(T.string), u64(2), str('a'), str('bc')])),
        kv('n', T.u32, u32(7)),
      ],
      infos: [info('a', [8, 2], 0, 0), info('b', [32], 8, 64)],
      data: Buffer.alloc(64 + 34, 3),
    });
    assert.ok((await openGguf(await fileOf(whole))).tensors.length === 2);
    const dataStart = whole.length - 98;
    for (let size = 0; size < whole.length; size++) {
      // Cutting only the padding before the data leaves the data section past the end: an error too.
      const path = await fileOf(whole.subarray(0, size));
      await rejects(path, /too short|truncated|runs past the end|cannot fit/);
      await rm(path);
    }
    assert.ok(dataStart > 100, 'the loop above covered every header byte');
  });
});

describe('GGUF fuzz: 300 mutated files', () => {
  it('every outcome is a clean parse or a GgufError; no other exception, no hang', async () => {
    const base = encodeGguf({
      metadata: [
        ['general.architecture', gguf.string('llama')],
        ['llama.block_count', gguf.u32(2)],
        ['tokenizer.ggml.tokens', gguf.strings(['<s>', 'a', 'bc', 'Ġd'])],
        ['tokenizer.ggml.scores', gguf.array('f32', new Float32Array([0, -1, -2, -3]))],
        ['nested', gguf.array('array', [gguf.array('u64', new BigUint64Array([1n, 2n]))])],
        ['flag', gguf.bool(true)],
        ['general.alignment', gguf.u32(32)],
      ],
      tensors: [
        { name: 'token_embd.weight', shape: [4, 8], type: 'f32', data: new Uint8Array(128).fill(1) },
        { name: 'blk.0.attn_q.weight', shape: [2, 32], type: 'q8_0', data: new Uint8Array(68).fill(2) },
        { name: 'output_norm.weight', shape: [8], type: 'f16', data: new Uint8Array(16).fill(3) },
      ],
    });
    const headerEnd = base.length - 128 - 32 * 3; // roughly where the data begins
    const extremes = [
      0n,
      1n,
      3n,
      13n,
      255n,
      2n ** 31n,
      2n ** 32n - 1n,
      2n ** 32n,
      2n ** 53n,
      2n ** 63n,
      2n ** 64n - 1n,
    ];
    const outcomes = { parsed: 0, rejected: 0 };
    const messages = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const rng = new Rng(seed);
      let bytes = Buffer.from(base);
      const kind = seed % 4;
      if (kind === 0) {
        bytes = bytes.subarray(0, rng.int(0, bytes.length - 1));
      } else if (kind === 1) {
        for (let i = rng.int(1, 4); i > 0; i--) bytes[rng.int(0, headerEnd)] ^= 1 << rng.int(0, 7);
      } else if (kind === 2) {
        // A length or count field: overwrite 8 bytes at a random offset with an extreme value.
        bytes.writeBigUInt64LE(rng.pick(extremes), rng.int(8, headerEnd - 8));
      } else {
        bytes.writeUInt32LE(Number(rng.pick(extremes) & 0xffffffffn), rng.int(4, headerEnd - 4));
        if (rng.next() < 0.5) bytes = bytes.subarray(0, rng.int(headerEnd, bytes.length));
      }
      const path = join(root, `fuzz-${seed}.gguf`);
      await writeFile(path, bytes);
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`seed ${seed}: no answer in 10 s (a hang)`)), 10_000);
      });
      try {
        await Promise.race([openGguf(path), hang]);
        outcomes.parsed++;
      } catch (e) {
        assert.ok(
          e instanceof GgufError,
          `seed ${seed} (mutation ${kind}): ${(e as Error).name}: ${(e as Error).message}`,
        );
        outcomes.rejected++;
        messages.add((e as Error).message.replace(/\d+/g, 'N').replace(path, 'FILE'));
      } finally {
        clearTimeout(timer);
        await rm(path);
      }
    }
    assert.equal(outcomes.parsed + outcomes.rejected, 300);
    assert.ok(outcomes.rejected >= 150, `most mutations are caught (${JSON.stringify(outcomes)})`);
    assert.ok(messages.size >= 15, `the errors name many different problems (${messages.size})`);
  });
});

it('GGUF_LIMITS are what the messages above assume', () => {
  assert.equal(GGUF_LIMITS.stringBytes, 16 * 2 ** 20);
  assert.equal(GGUF_LIMITS.headerBytes, 64 * 2 ** 20);
  assert.equal(GGUF_LIMITS.totalObjectItems, 4 * 2 ** 20);
});
