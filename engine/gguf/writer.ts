/**
 * Writes GGUF v3 files (v2 on request: the same layout): metadata of every value type, then tensor infos, then the
 * tensor bytes, each tensor starting at a multiple of the alignment. Tensors are given as raw bytes of their ggml type
 * (any type, quantized or not) in Hugging Face shape order; the writer reverses the shape into ggml's ne. Used by tests
 * and fixtures; its input is trusted, so mistakes are RangeErrors.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { WeightDType } from '../quant/types.ts';
import { type GgmlTypeInfo, ggmlType, ggmlTypeOf } from './ggml-types.ts';
import { DEFAULT_ALIGNMENT } from './reader.ts';
import { FIXED_SIZE, type GgufArray, type GgufValue, type GgufValueType, VALUE_TYPES } from './values.ts';

export interface GgufTensorToWrite {
  name: string;
  /** Hugging Face order ([rows, cols]). */
  shape: readonly number[];
  /** An engine dtype, or a ggml type id (to write types the engine does not run). */
  type: WeightDType | number;
  /**
   * The tensor's bytes, or a function that makes them when the tensor is written (writeGguf calls it once, so a
   * gigabyte model is never whole in memory; its length is checked then).
   */
  data: Uint8Array | (() => Uint8Array);
}

export interface GgufToWrite {
  /** Written in this order. general.alignment, when present, sets the alignment. */
  metadata: Iterable<readonly [string, GgufValue]>;
  /** Called after each tensor is written: bytes written so far and in all (progress of big fixtures). */
  onProgress?: (writtenBytes: number, totalBytes: number) => void;
  tensors: readonly GgufTensorToWrite[];
  version?: 2 | 3;
}

/** Growable little-endian byte buffer. */
class Bytes {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // reserve() may replace the buffer: take the offset first, then the (new) view.
  u8(v: number) {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  u32(v: number) {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  u64(v: bigint | number) {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  raw(bytes: Uint8Array) {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }
  string(s: string) {
    const bytes = new TextEncoder().encode(s);
    this.u64(bytes.length);
    this.raw(bytes);
  }
  padTo(alignment: number) {
    this.reserve((alignment - (this.length % alignment)) % alignment);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function typeId(type: GgufValueType): number {
  return VALUE_TYPES.indexOf(type);
}

function writeScalar(out: Bytes, type: GgufValueType, value: unknown): void {
  const size = FIXED_SIZE[type];
  if (type === 'string') {
    out.string(value as string);
    return;
  }
  if (type === 'bool') {
    out.u8(value ? 1 : 0);
    return;
  }
  const bytes = new Uint8Array(size!);
  const view = new DataView(bytes.buffer);
  switch (type) {
    case 'u8':
      view.setUint8(0, value as number);
      break;
    case 'i8':
      view.setInt8(0, value as number);
      break;
    case 'u16':
      view.setUint16(0, value as number, true);
      break;
    case 'i16':
      view.setInt16(0, value as number, true);
      break;
    case 'u32':
      view.setUint32(0, value as number, true);
      break;
    case 'i32':
      view.setInt32(0, value as number, true);
      break;
    case 'f32':
      view.setFloat32(0, value as number, true);
      break;
    case 'f64':
      view.setFloat64(0, value as number, true);
      break;
    case 'u64':
      view.setBigUint64(0, value as bigint, true);
      break;
    case 'i64':
      view.setBigInt64(0, value as bigint, true);
      break;
    default:
      throw new RangeError(`writeGguf: ${type} is not a scalar type`);
  }
  out.raw(bytes);
}

function writeArray(out: Bytes, array: GgufArray): void {
  out.u32(typeId(array.itemType));
  out.u64(array.items.length);
  for (const item of array.items as ArrayLike<unknown> as unknown[]) {
    if (array.itemType === 'array') writeArray(out, item as GgufArray);
    else writeScalar(out, array.itemType, item);
  }
}

function writeValue(out: Bytes, value: GgufValue): void {
  out.u32(typeId(value.type));
  if (value.type === 'array') writeArray(out, value);
  else writeScalar(out, value.type, value.value);
}

function typeInfo(t: GgufTensorToWrite): GgmlTypeInfo {
  const info = typeof t.type === 'number' ? ggmlType(t.type) : ggmlTypeOf(t.type);
  if (!info) throw new RangeError(`writeGguf: tensor ${t.name} has unknown ggml type ${String(t.type)}`);
  return info;
}

/** The header (metadata, tensor infos, padding to the data section) and where each tensor goes in the data. */
export function encodeGgufHeader(input: GgufToWrite): {
  header: Uint8Array;
  offsets: number[];
  /** Bytes of each tensor (as its type and shape imply). */
  sizes: number[];
  alignment: number;
} {
  const metadata = [...input.metadata];
  const alignmentValue = metadata.find(([k]) => k === 'general.alignment')?.[1];
  const alignment = alignmentValue?.type === 'u32' ? alignmentValue.value : DEFAULT_ALIGNMENT;
  const out = new Bytes();
  out.raw(new TextEncoder().encode('GGUF'));
  out.u32(input.version ?? 3);
  out.u64(input.tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const t of input.tensors) {
    const info = typeInfo(t);
    const ne = [...t.shape].reverse();
    const elements = ne.reduce((a, b) => a * b, 1);
    if (ne[0] % info.blockElements !== 0) {
      throw new RangeError(`writeGguf: tensor ${t.name}'s rows (${ne[0]}) are not whole ${info.name} blocks`);
    }
    const bytes = (elements / info.blockElements) * info.blockBytes;
    if (typeof t.data !== 'function') checkLength(t, t.data, bytes, info);
    out.string(t.name);
    out.u32(ne.length);
    for (const d of ne) out.u64(d);
    out.u32(info.id);
    out.u64(offset);
    offsets.push(offset);
    sizes.push(bytes);
    offset += Math.ceil(bytes / alignment) * alignment;
  }
  out.padTo(alignment);
  return { header: out.done(), offsets, sizes, alignment };
}

function checkLength(t: GgufTensorToWrite, data: Uint8Array, bytes: number, info: GgmlTypeInfo): void {
  if (data.length !== bytes) {
    throw new RangeError(
      `writeGguf: tensor ${t.name} has ${data.length} bytes; ${info.name} [${t.shape}] needs ${bytes}`,
    );
  }
}

function tensorBytes(t: GgufTensorToWrite, bytes: number): Uint8Array {
  if (typeof t.data !== 'function') return t.data;
  const data = t.data();
  checkLength(t, data, bytes, typeInfo(t));
  return data;
}

/** A whole GGUF file in memory (tests). */
export function encodeGguf(input: GgufToWrite): Uint8Array {
  const { header, offsets, sizes } = encodeGgufHeader(input);
  const last = input.tensors.length - 1;
  const size = header.length + (last >= 0 ? offsets[last] + sizes[last] : 0);
  const out = new Uint8Array(size);
  out.set(header);
  for (const [i, t] of input.tensors.entries()) out.set(tensorBytes(t, sizes[i]), header.length + offsets[i]);
  return out;
}

/** Writes the file tensor by tensor (no copy of the whole model in memory). */
export async function writeGguf(path: string, input: GgufToWrite): Promise<void> {
  const { header, offsets, sizes } = encodeGgufHeader(input);
  const total = sizes.reduce((a, b) => a + b, 0);
  let written = 0;
  const handle = await open(path, 'w');
  try {
    await writeFully(handle, header, 0);
    for (const [i, t] of input.tensors.entries()) {
      await writeFully(handle, tensorBytes(t, sizes[i]), header.length + offsets[i]);
      written += sizes[i];
      input.onProgress?.(written, total);
    }
  } finally {
    await handle.close();
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes a model split in `parts` files as llama.cpp's gguf-split does (`<prefix>-00001-of-0000N.gguf`, ...): the
 * tensors in order, about as many in each part; part 1 carries the metadata, every part split.no (u16, from 0),
 * split.count (u16) and split.tensors.count (i32). Returns the paths, first to last.
 */
export async function writeGgufSplit(prefix: string, input: GgufToWrite, parts: number): Promise<string[]> {
  if (!Number.isInteger(parts) || parts < 1 || parts > input.tensors.length) {
    throw new RangeError(`writeGgufSplit: ${parts} parts for ${input.tensors.length} tensors`);
  }
  const pad = (n: number) => String(n).padStart(5, '0');
  const paths: string[] = [];
  const metadata = [...input.metadata];
  const alignment = metadata.filter(([k]) => k === 'general.alignment');
  const perPart = Math.ceil(input.tensors.length / parts);
  for (let i = 0; i < parts; i++) {
    const split: [string, GgufValue][] = [
      ['split.no', { type: 'u16', value: i }],
      ['split.count', { type: 'u16', value: parts }],
      ['split.tensors.count', { type: 'i32', value: input.tensors.length }],
    ];
    const path = `${prefix}-${pad(i + 1)}-of-${pad(parts)}.gguf`;
    const tensors = input.tensors.slice(i * perPart, (i + 1) * perPart);
    await writeGguf(path, {
      metadata: i === 0 ? [...metadata, ...split] : [...alignment, ...split],
      tensors,
      ...(input.version ? { version: input.version } : {}),
    });
    paths.push(path);
  }
  return paths;
}
