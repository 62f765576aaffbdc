/**
 * Reads a GGUF file's header (llama.cpp's model format, versions 2 and 3, little-endian): the metadata key/values, the
 * tensor infos and where the tensor data starts. Only the header is read, through a file handle, in chunks: models
 * are gigabytes, and their tensor bytes are read later by offset (TensorEntry + readTensorChunks).
 *
 * The file is untrusted. Every count and length is checked against the bytes the file has left, and against limits no
 * real model comes near, BEFORE anything is allocated for it; every tensor must lie inside the file, aligned, of the
 * size its type and shape imply, and overlap no other. A violation is a GgufError naming the problem and where.
 *
 * Why not @huggingface/gguf (0.4.6, the well-kept JS parser): it is made for remote files and trusts them. It reads
 * counts and lengths without checking them against the file size (an array length of 2^63 loops on fetching more
 * chunks), accepts any tensor type id, checks no tensor offset, size, alignment or overlap, and grows one buffer for
 * the whole header. Checked against its source rather than installed (no new dependency for a few hundred lines).
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { WeightDType } from '../quant/types.ts';
import { GgufError } from './errors.ts';
import { ggmlType, unknownGgmlType } from './ggml-types.ts';
import {
  FIXED_SIZE,
  type GgufArray,
  type GgufArrayItems,
  type GgufValue,
  type GgufValueType,
  TYPED_ARRAYS,
  VALUE_TYPES,
} from './values.ts';

export interface GgufTensorInfo {
  name: string;
  /** Hugging Face / PyTorch order: ggml's ne reversed ([rows, cols] for a matrix). */
  shape: number[];
  /** ggml's order: ne[0] is the innermost, contiguous dimension. */
  ne: number[];
  ggmlTypeId: number;
  /** ggml's name of the type: "F16", "Q4_K". */
  ggmlType: string;
  /** The type the engine loads it as; null for a type the engine cannot run (ggmlType names it). */
  dtype: WeightDType | null;
  /** The file holding the tensor's bytes (one part of a split model: engine/gguf/split.ts). */
  file: string;
  /** From the start of that file. */
  byteOffset: number;
  byteLength: number;
}

export interface GgufFile {
  path: string;
  version: number;
  fileSize: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Where the tensor data section starts (tensor offsets in the file are relative to it). */
  dataOffset: number;
  /**
   * The files of a split model (engine/gguf/split.ts), first to last, with their sizes; absent for a single file.
   * `path` is then the first part's, `fileSize` the sum, and each tensor names the part holding it.
   */
  parts?: { path: string; fileSize: number }[];
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const DEFAULT_ALIGNMENT = 32;

/**
 * Limits far above any real model (a 671B MoE has ~1,100 tensors and ~50 keys; the largest vocabularies ~260k tokens
 * and ~300k merges), low enough that a corrupt count cannot make the reader allocate gigabytes.
 */
export type GgufLimits = typeof GGUF_LIMITS;

export const GGUF_LIMITS = {
  /** Metadata + tensor infos (Gemma 3's 262k-token vocabulary with scores and types is ~7 MB). */
  headerBytes: 64 * 2 ** 20,
  kvCount: 1 << 16,
  tensorCount: 1 << 20,
  keyBytes: 4096,
  /** ggml's GGML_MAX_NAME is 64; a little room for other writers. */
  tensorNameBytes: 256,
  stringBytes: 16 * 2 ** 20,
  /** Items of one string or nested array (each becomes a JS value). */
  objectArrayItems: 1 << 21,
  /** String and nested-array items in the whole metadata (Llama 3's tokens + merges are ~410k). */
  totalObjectItems: 1 << 22,
  /** Items of a numeric array (held in a typed array, and the header must hold their bytes anyway). */
  numericArrayItems: 1 << 24,
  arrayDepth: 4,
  /** ggml tensors have at most 4 dimensions (GGML_MAX_DIMS). */
  dims: 4,
  maxAlignment: 1 << 24,
};

const CHUNK = 1 << 20;

/** Sequential reads of a file through a buffer, failing with a GgufError on a short file. */
class Cursor {
  where = 'the header';
  pos = 0;
  /** String and nested-array items read so far (limits.totalObjectItems). */
  objectItems = 0;
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly fileSize: number,
    readonly limits: GgufLimits,
  ) {}

  fail(detail: string): never {
    throw new GgufError(this.path, detail);
  }

  get remaining(): number {
    return this.fileSize - this.pos;
  }

  /** Makes the next n bytes readable, or fails naming what was being read. */
  async need(n: number): Promise<void> {
    if (this.pos + n <= this.bufStart + this.buf.length) return;
    if (n > this.remaining) {
      this.fail(
        `truncated in ${this.where}: ${n} bytes needed at byte ${this.pos}, but the file ends at byte ${this.fileSize} ` +
          '(an incomplete download? download it again)',
      );
    }
    if (this.pos + n > this.limits.headerBytes) {
      this.fail(`${this.where} ends past byte ${this.limits.headerBytes}: the header is larger than any model's`);
    }
    const size = Math.min(Math.max(n, CHUNK), this.remaining);
    const buf = new Uint8Array(size);
    await this.readAt(buf, this.pos);
    this.buf = buf;
    this.view = new DataView(buf.buffer);
    this.bufStart = this.pos;
  }

  /** Whether the next n bytes are already buffered (then reads need no await). */
  has(n: number): boolean {
    return this.pos + n <= this.bufStart + this.buf.length;
  }

  /** The next n buffered bytes, as a view valid until the next need() (check has(n) first). */
  take(n: number): Uint8Array {
    const at = this.at(n);
    return this.buf.subarray(at, at + n);
  }

  private at(size: number): number {
    const offset = this.pos - this.bufStart;
    this.pos += size;
    return offset;
  }

  u8(): number {
    return this.view.getUint8(this.at(1));
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.at(8), true);
  }

  /** The next n bytes, copied into a new array (n is checked by the caller). */
  async bytes(n: number): Promise<Uint8Array> {
    if (n > this.remaining) {
      this.fail(
        `truncated in ${this.where}: ${n} bytes needed at byte ${this.pos}, but the file ends at byte ${this.fileSize}`,
      );
    }
    if (this.pos + n > this.limits.headerBytes) {
      this.fail(`${this.where} ends past byte ${this.limits.headerBytes}: the header is larger than any model's`);
    }
    const out = new Uint8Array(n);
    const buffered = Math.max(0, Math.min(n, this.bufStart + this.buf.length - this.pos));
    if (buffered > 0) out.set(this.buf.subarray(this.pos - this.bufStart, this.pos - this.bufStart + buffered));
    if (buffered < n) await this.readAt(out.subarray(buffered), this.pos + buffered);
    this.pos += n;
    return out;
  }

  private async readAt(into: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < into.length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(into, done, into.length - done, position + done));
      } catch (error) {
        this.fail(`cannot read at byte ${position + done}: ${(error as Error).message}`);
      }
      if (bytesRead === 0) this.fail(`truncated in ${this.where}: the file ends at byte ${position + done}`);
      done += bytesRead;
    }
  }
}

/** `limits` lowers (or raises) GGUF_LIMITS, for tests of the limits themselves. */
export async function openGguf(path: string, options: { limits?: Partial<GgufLimits> } = {}): Promise<GgufFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new GgufError(path, `cannot open: ${(error as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new GgufError(path, 'is not a file');
    return await parse(new Cursor(handle, path, stats.size, { ...GGUF_LIMITS, ...options.limits }));
  } finally {
    await handle.close();
  }
}

async function parse(c: Cursor): Promise<GgufFile> {
  if (c.fileSize < 24) {
    const magic = c.fileSize >= 4 ? await c.bytes(4) : new Uint8Array(0);
    if (magic.length === 4 && !isMagic(magic)) c.fail(notGguf(magic));
    c.fail(`is ${c.fileSize} bytes, too short for a GGUF file (a 24-byte header comes first)`);
  }
  await c.need(24);
  const magic = await c.bytes(4);
  if (!isMagic(magic)) c.fail(notGguf(magic));
  const version = c.u32();
  checkVersion(c, version);
  const tensorCount = c.u64();
  const kvCount = c.u64();
  // The smallest key/value: an 8-byte key length, a 1-byte key, a 4-byte type, a 1-byte value.
  checkCount(c, kvCount, c.limits.kvCount, 14, 'metadata key/value count');
  // The smallest tensor info: name length + 1 byte, n_dims, one dim, type, offset.
  checkCount(c, tensorCount, c.limits.tensorCount, 33, 'tensor count');

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < Number(kvCount); i++) {
    c.where = `metadata entry ${i} (key)`;
    const key = await readString(c, c.limits.keyBytes, true);
    if (key === '') c.fail(`metadata entry ${i} has an empty key`);
    if (metadata.has(key)) c.fail(`metadata key ${key} appears twice`);
    c.where = `metadata ${key}`;
    await c.need(4);
    const type = valueType(c, c.u32(), key);
    metadata.set(key, await readValue(c, type, key, 0));
  }

  const alignment = readAlignment(c, metadata.get('general.alignment'));

  const tensors: GgufTensorInfo[] = [];
  const relative: bigint[] = [];
  const names = new Set<string>();
  for (let i = 0; i < Number(tensorCount); i++) {
    c.where = `tensor info ${i} (name)`;
    const name = await readString(c, c.limits.tensorNameBytes, true);
    if (name === '') c.fail(`tensor info ${i} has an empty name`);
    if (names.has(name)) c.fail(`tensor ${name} appears twice`);
    names.add(name);
    c.where = `tensor info of ${name}`;
    await c.need(4);
    const nDims = c.u32();
    if (nDims < 1 || nDims > c.limits.dims) {
      c.fail(`tensor ${name} has ${nDims} dimensions; ggml tensors have 1 to ${c.limits.dims}`);
    }
    await c.need(8 * nDims + 12);
    const ne: number[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const dim = c.u64();
      elements *= dim;
      // Each dimension, and their product, must be a count of bytes the file could hold.
      if (dim > BigInt(c.fileSize) * 8n || elements > BigInt(c.fileSize) * 8n) {
        c.fail(`tensor ${name} has dimension ${dim} (ne[${d}]): more elements than the file could hold`);
      }
      ne.push(Number(dim));
    }
    const typeId = c.u32();
    const offset = c.u64();
    const info = ggmlType(typeId);
    if (!info) c.fail(`tensor ${name}: ${unknownGgmlType(typeId)}`);
    if (ne[0] % info.blockElements !== 0) {
      c.fail(`tensor ${name}: its rows (ne[0] = ${ne[0]}) are not whole ${info.name} blocks of ${info.blockElements}`);
    }
    const byteLength = (elements / BigInt(info.blockElements)) * BigInt(info.blockBytes);
    if (byteLength > BigInt(c.fileSize)) {
      c.fail(
        `tensor ${name} of shape [${ne.join(', ')}] (ggml order) ${info.name} needs ${byteLength} bytes, more than the file's ${c.fileSize}`,
      );
    }
    if (offset % BigInt(alignment) !== 0n) {
      c.fail(`tensor ${name}: offset ${offset} is not a multiple of the alignment (${alignment})`);
    }
    relative.push(offset);
    tensors.push({
      name,
      shape: [...ne].reverse(),
      ne,
      ggmlTypeId: typeId,
      ggmlType: info.name,
      dtype: info.dtype ?? null,
      file: c.path,
      byteOffset: 0,
      byteLength: Number(byteLength),
    });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const dataSize = BigInt(c.fileSize - dataOffset);
  tensors.forEach((t, i) => {
    const end = relative[i] + BigInt(t.byteLength);
    if (dataOffset > c.fileSize || end > dataSize) {
      c.fail(
        `tensor ${t.name} (bytes ${relative[i]} to ${end} of the data section at byte ${dataOffset}) runs past the ` +
          `end of the file (${c.fileSize} bytes): the file is truncated; download it again`,
      );
    }
    t.byteOffset = dataOffset + Number(relative[i]);
  });
  // Sorted by start, checking neighbours checks every pair; empty tensors own no bytes.
  const filled = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < filled.length; i++) {
    const [a, b] = [filled[i - 1], filled[i]];
    if (b.byteOffset < a.byteOffset + a.byteLength) {
      c.fail(
        `tensors ${a.name} (bytes ${a.byteOffset}-${a.byteOffset + a.byteLength}) and ${b.name} (from byte ` +
          `${b.byteOffset}) overlap`,
      );
    }
  }
  return { path: c.path, version, fileSize: c.fileSize, metadata, tensors, alignment, dataOffset };
}

function isMagic(bytes: Uint8Array): boolean {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === MAGIC;
}

function notGguf(magic: Uint8Array): string {
  const hex = [...magic].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `does not start with the GGUF magic "GGUF" (found ${hex}): not a GGUF file`;
}

function checkVersion(c: Cursor, version: number): void {
  if (version === 2 || version === 3) return;
  const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
  if (swapped >>> 0 >= 1 && swapped >>> 0 <= 3) {
    c.fail(`is a big-endian GGUF file (version ${swapped >>> 0}); only little-endian files are supported`);
  }
  if (version === 1) c.fail('is GGUF version 1, which is obsolete; convert the model again with a current llama.cpp');
  c.fail(`has GGUF version ${version}; supported: 2, 3`);
}

function checkCount(c: Cursor, count: bigint, limit: number, minBytes: number, what: string): void {
  if (count > BigInt(limit)) c.fail(`${what} ${count} is over the limit of ${limit}: the file is corrupt`);
  if (count * BigInt(minBytes) > BigInt(c.remaining)) {
    c.fail(
      `${what} ${count} cannot fit in the file's remaining ${c.remaining} bytes: the file is corrupt or truncated`,
    );
  }
}

function valueType(c: Cursor, id: number, key: string): GgufValueType {
  const type = VALUE_TYPES[id];
  if (type === undefined) c.fail(`metadata ${key} has unknown value type ${id} (GGUF defines 0 to 12)`);
  return type;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

async function readString(c: Cursor, limit: number, strict: boolean): Promise<string> {
  // Vocabularies are hundreds of thousands of strings: read buffered ones without awaiting, and the length as two u32
  // halves, with number math (BigInt costs about a microsecond a string).
  if (!c.has(8)) await c.need(8);
  const low = c.u32();
  const high = c.u32();
  if (high !== 0 || low > c.remaining || low > limit) {
    const length = (BigInt(high) << 32n) | BigInt(low);
    if (length > BigInt(c.remaining)) {
      c.fail(
        `${c.where}: a string of ${length} bytes at byte ${c.pos - 8} runs past the end of the file: it is ` +
          'truncated or corrupt',
      );
    }
    c.fail(`${c.where}: a string of ${length} bytes is over the ${limit}-byte limit`);
  }
  if (low === 0) return '';
  return decode(c, c.has(low) ? c.take(low) : await c.bytes(low), strict);
}

function decode(c: Cursor, bytes: Uint8Array, strict: boolean): string {
  if (!strict) return lenientUtf8.decode(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return c.fail(`${c.where}: the text at byte ${c.pos - bytes.length} is not valid UTF-8`);
  }
}

async function readValue(c: Cursor, type: GgufValueType, key: string, depth: number): Promise<GgufValue> {
  if (type === 'string') return { type, value: await readString(c, c.limits.stringBytes, false) };
  if (type === 'array') return readArray(c, key, depth);
  await c.need(FIXED_SIZE[type]!);
  switch (type) {
    case 'bool': {
      const b = c.u8();
      if (b > 1) c.fail(`metadata ${key}: a bool must be 0 or 1, found ${b}`);
      return { type, value: b === 1 };
    }
    case 'u64':
    case 'i64': {
      const bytes = await c.bytes(8);
      const view = new DataView(bytes.buffer);
      return { type, value: type === 'u64' ? view.getBigUint64(0, true) : view.getBigInt64(0, true) };
    }
    default: {
      const bytes = await c.bytes(FIXED_SIZE[type]!);
      return { type, value: Number(typedArray(type, bytes, 1)[0]) };
    }
  }
}

async function readArray(c: Cursor, key: string, depth: number): Promise<GgufArray> {
  if (depth >= c.limits.arrayDepth) c.fail(`metadata ${key}: arrays nested deeper than ${c.limits.arrayDepth}`);
  await c.need(12);
  const itemType = valueType(c, c.u32(), key);
  const length = c.u64();
  const size = FIXED_SIZE[itemType];
  // Strings take at least their 8-byte length, arrays their 4-byte type and 8-byte length.
  const minBytes = size ?? (itemType === 'string' ? 8 : 12);
  const limit = size === undefined ? c.limits.objectArrayItems : c.limits.numericArrayItems;
  if (length * BigInt(minBytes) > BigInt(c.remaining)) {
    c.fail(
      `metadata ${key}: an array of ${length} ${itemType} needs at least ${length * BigInt(minBytes)} bytes, but ` +
        `only ${c.remaining} are left in the file: it is truncated or corrupt`,
    );
  }
  if (length > BigInt(limit)) c.fail(`metadata ${key}: an array of ${length} items is over the limit of ${limit}`);
  const n = Number(length);
  if (size === undefined) {
    c.objectItems += n;
    if (c.objectItems > c.limits.totalObjectItems) {
      c.fail(`metadata ${key}: the metadata holds more than ${c.limits.totalObjectItems} strings and arrays`);
    }
  }
  let items: GgufArrayItems;
  if (itemType === 'string') {
    const strings: string[] = [];
    for (let i = 0; i < n; i++) strings.push(await readString(c, c.limits.stringBytes, false));
    items = strings;
  } else if (itemType === 'array') {
    const arrays: GgufArray[] = [];
    for (let i = 0; i < n; i++) arrays.push(await readArray(c, key, depth + 1));
    items = arrays;
  } else if (itemType === 'bool') {
    const bytes = await c.bytes(n);
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) c.fail(`metadata ${key}: item ${bad} of a bool array is ${bytes[bad]}, not 0 or 1`);
    items = Array.from(bytes, (b) => b === 1);
  } else {
    const bytes = await c.bytes(n * size!);
    items = typedArray(itemType as keyof typeof TYPED_ARRAYS, bytes, n);
  }
  return { type: 'array', itemType, items };
}

/** A view of freshly read bytes (offset 0 of their own buffer, so aligned) as the numeric type's array. */
function typedArray(type: keyof typeof TYPED_ARRAYS, bytes: Uint8Array, n: number) {
  const Ctor = TYPED_ARRAYS[type] as unknown as new (
    buffer: ArrayBuffer,
    offset: number,
    length: number,
  ) => Exclude<GgufArrayItems, unknown[]>;
  return new Ctor(bytes.buffer as ArrayBuffer, 0, n);
}

function readAlignment(c: Cursor, value: GgufValue | undefined): number {
  if (value === undefined) return DEFAULT_ALIGNMENT;
  if (value.type !== 'u32') c.fail(`general.alignment must be a u32, found ${value.type}`);
  const a = value.value;
  if (a === 0 || (a & (a - 1)) !== 0 || a > c.limits.maxAlignment) {
    c.fail(`general.alignment ${a} is not a power of two up to ${c.limits.maxAlignment}`);
  }
  return a;
}
