/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * (`{"name": {"dtype": "BF16", "shape": [r, c], "data_offsets": [begin, end]}, "__metadata__": {...}}`, offsets
 * relative to the end of the header), then the raw row-major tensor bytes. Opening reads only the header and checks
 * it against the file size, so a truncated download fails at once, before any GPU memory is spent; tensor bytes are
 * read later, chunk by chunk, so loading never holds a second copy of the model in memory.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { bytesPerElement, decodeValues, encodeValues, type FloatDType } from '../gpu/dtype.ts';
import { dequantize } from '../quant/dequantize.ts';
import { isQuantType, type WeightDType } from '../quant/types.ts';
import { isPlainObject } from './config-fields.ts';
import { SafetensorsError } from './errors.ts';

/**
 * One tensor of a weight file, located by absolute byte range. Safetensors files hold float types only; GGUF files
 * (engine/gguf) also hold quantized blocks, whose rows are whole blocks of QUANT_BLOCKS.
 */
export interface TensorEntry {
  name: string;
  dtype: WeightDType;
  shape: number[];
  /** The .safetensors or .gguf file holding it. */
  file: string;
  /** From the start of the file (header included). */
  byteOffset: number;
  byteLength: number;
  /**
   * Set on the q/k projections of GGUF llama-family files: llama.cpp's converter reordered the rows of each head (of
   * this many rows) so that its adjacent-pair RoPE works; file row 2i + a holds Hugging Face row a * headDim/2 + i.
   * readTensorChunks puts the rows back in Hugging Face order, so every reader sees the layout the engine's RoPE expects.
   */
  ropeInterleavedHeadDim?: number;
}

export interface SafetensorsFile {
  path: string;
  fileSize: number;
  /** Where the tensor data starts: 8 + header length. */
  dataOffset: number;
  tensors: Map<string, TensorEntry>;
  /** The free-form `__metadata__` strings (e.g. {"format": "pt"}); {} when absent. */
  metadata: Record<string, string>;
}

/** The tensor data a writer takes: values as f32, stored as `dtype`. */
export interface TensorData {
  name: string;
  dtype: FloatDType;
  shape: number[];
  data: Float32Array;
}

const SUPPORTED: Record<string, FloatDType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
const NAME_OF: Record<FloatDType, string> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
/** The reference implementation refuses larger headers too; a bigger value means a corrupt file, not a model. */
const MAX_HEADER_BYTES = 100_000_000;

/** For messages: `[128, 64]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reads and validates the header of a .safetensors file. Throws SafetensorsError naming the file and the problem. */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new SafetensorsError(path, `cannot open: ${(error as Error).message}`);
  }
  try {
    const fileSize = (await handle.stat()).size;
    const fail = (detail: string): never => {
      throw new SafetensorsError(path, detail);
    };
    if (fileSize < 8) {
      fail(`is ${fileSize} bytes, too short for a safetensors file (8-byte header length, then a JSON header)`);
    }
    const lengthBytes = new Uint8Array(8);
    await readFully(handle, path, lengthBytes, 0);
    const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (headerLength > BigInt(fileSize - 8)) {
      fail(
        `header length ${headerLength} runs past the end of the file (${fileSize} bytes): the file is truncated ` +
          'or not a safetensors file; download it again',
      );
    }
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      fail(`header length ${headerLength} is over the ${MAX_HEADER_BYTES}-byte limit: the file is corrupt`);
    }
    const headerBytes = new Uint8Array(Number(headerLength));
    await readFully(handle, path, headerBytes, 8);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (error) {
      fail(`header is not valid JSON (${(error as Error).message}): the file is corrupt or not a safetensors file`);
    }
    if (!isPlainObject(header)) return fail('header is not a JSON object');
    const dataOffset = 8 + Number(headerLength);
    const { tensors, metadata } = parseHeader(header, path, dataOffset, fileSize - dataOffset);
    return { path, fileSize, dataOffset, tensors, metadata };
  } finally {
    await handle.close();
  }
}

function parseHeader(header: Record<string, unknown>, path: string, dataOffset: number, dataSize: number) {
  const fail = (detail: string): never => {
    throw new SafetensorsError(path, detail);
  };
  let metadata: Record<string, string> = {};
  const ranges: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, TensorEntry>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        fail('__metadata__ must be an object of strings');
      }
      metadata = value as Record<string, string>;
      continue;
    }
    if (!isPlainObject(value)) return fail(`tensor ${name}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      return fail(
        `tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not a [begin, end] pair with begin <= end`,
      );
    }
    const floatDType = typeof dtype === 'string' ? SUPPORTED[dtype] : undefined;
    if (!floatDType) {
      return fail(`tensor ${name} has dtype ${String(dtype)}; supported: ${Object.keys(SUPPORTED).join(', ')}`);
    }
    const [begin, end] = offsets as number[];
    const needed = elementCount(shape as number[]) * bytesPerElement(floatDType);
    if (end - begin !== needed) {
      fail(
        `tensor ${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape ` +
          `${formatShape(shape as number[])} of ${dtype} needs ${needed}`,
      );
    }
    if (end > dataSize) {
      fail(
        `tensor ${name}: data_offsets [${begin}, ${end}] run past the end of the data (${dataSize} bytes): the file ` +
          'is truncated; download it again',
      );
    }
    ranges.push({ name, begin, end });
    tensors.set(name, {
      name,
      dtype: floatDType,
      shape: shape as number[],
      file: path,
      byteOffset: dataOffset + begin,
      byteLength: end - begin,
    });
  }
  // Writers lay tensors end to end; an overlap means two tensors would share bytes, which only corruption produces.
  // Empty tensors own no bytes, so they overlap nothing. Sorted by begin, checking neighbours checks every pair.
  const filled = ranges.filter((r) => r.end > r.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < filled.length; i++) {
    const [a, b] = [filled[i - 1], filled[i]];
    if (b.begin < a.end) {
      fail(`tensors ${a.name} [${a.begin}, ${a.end}] and ${b.name} [${b.begin}, ${b.end}] overlap in data_offsets`);
    }
  }
  return { tensors, metadata };
}

async function readFully(handle: FileHandle, path: string, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await handle.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        path,
        `ended at byte ${position + done} while ${into.byteLength - done} more bytes were expected (truncated?)`,
      );
    }
    done += bytesRead;
  }
}

/**
 * Streams a tensor's raw bytes (its dtype, little-endian) in chunks of `chunkBytes` (a multiple of 4, as
 * GPUQueue.writeBuffer wants; the last chunk may be shorter). The chunk's memory is reused: it is valid until the
 * promise onChunk returns settles, so copy it (writeBuffer does) rather than keep it.
 */
export async function readTensorChunks(
  entry: TensorEntry,
  chunkBytes: number,
  onChunk: (bytes: Uint8Array, offsetInTensor: number) => void | Promise<void>,
): Promise<void> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes % 4 !== 0) {
    throw new RangeError(`readTensorChunks: chunkBytes (${chunkBytes}) must be a positive multiple of 4`);
  }
  if (entry.ropeInterleavedHeadDim !== undefined) return readHeadsInHfOrder(entry, chunkBytes, onChunk);
  const handle = await open(entry.file, 'r');
  try {
    const buffer = new Uint8Array(Math.min(chunkBytes, entry.byteLength));
    for (let done = 0; done < entry.byteLength; ) {
      const size = Math.min(chunkBytes, entry.byteLength - done);
      const chunk = buffer.subarray(0, size);
      await readFully(handle, entry.file, chunk, entry.byteOffset + done);
      await onChunk(chunk, done);
      done += size;
    }
  } finally {
    await handle.close();
  }
}

/**
 * readTensorChunks for a tensor whose rows llama.cpp interleaved per head: reads whole heads (headDim rows; a chunk
 * holds as many whole heads as fit in chunkBytes, at least one) and writes each head's rows back in Hugging Face
 * order: HF row a * headDim/2 + i is file row 2i + a. A head's bytes are a multiple of 4 (headDim is even and every
 * row's byte count is even), as writeBuffer wants.
 */
async function readHeadsInHfOrder(
  entry: TensorEntry,
  chunkBytes: number,
  onChunk: (bytes: Uint8Array, offsetInTensor: number) => void | Promise<void>,
): Promise<void> {
  const headDim = entry.ropeInterleavedHeadDim!;
  const rows = entry.shape[0];
  const rowBytes = entry.byteLength / rows;
  const headBytes = headDim * rowBytes;
  if (headDim % 2 !== 0 || rows % headDim !== 0 || !Number.isInteger(rowBytes)) {
    throw new SafetensorsError(entry.file, `tensor ${entry.name}: ${rows} rows are not whole heads of ${headDim}`);
  }
  const heads = Math.max(1, Math.floor(chunkBytes / headBytes));
  const half = headDim / 2;
  const handle = await open(entry.file, 'r');
  try {
    const raw = new Uint8Array(Math.min(heads * headBytes, entry.byteLength));
    const out = new Uint8Array(raw.length);
    for (let done = 0; done < entry.byteLength; ) {
      const size = Math.min(raw.length, entry.byteLength - done);
      await readFully(handle, entry.file, raw.subarray(0, size), entry.byteOffset + done);
      for (let head = 0; head < size; head += headBytes) {
        for (let a = 0; a < 2; a++) {
          for (let i = 0; i < half; i++) {
            const from = head + (2 * i + a) * rowBytes;
            out.set(raw.subarray(from, from + rowBytes), head + (a * half + i) * rowBytes);
          }
        }
      }
      await onChunk(out.subarray(0, size), done);
      done += size;
    }
  } finally {
    await handle.close();
  }
}

/**
 * A whole tensor decoded to f32 (for the CPU oracle and tests; the GPU loader streams with readTensorChunks).
 * Quantized tensors are dequantized by engine/quant's reference.
 */
export async function readTensor(entry: TensorEntry): Promise<Float32Array> {
  const bytes = new Uint8Array(entry.byteLength);
  await readTensorChunks(entry, Math.max(4, Math.ceil(entry.byteLength / 4) * 4), (chunk, offset) =>
    bytes.set(chunk, offset),
  );
  if (isQuantType(entry.dtype)) {
    const cols = entry.shape[entry.shape.length - 1];
    return dequantize(entry.dtype, bytes, elementCount(entry.shape) / cols, cols);
  }
  return decodeValues(bytes, entry.dtype);
}

/**
 * Writes a .safetensors file in the given tensor order, each tensor's values rounded to its dtype. As the reference
 * implementation does, the JSON header is padded with spaces to a multiple of 8 bytes so the data starts aligned.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorData[],
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) {
      throw new RangeError(`writeSafetensors: duplicate or reserved tensor name ${t.name}`);
    }
    if (elementCount(t.shape) !== t.data.length) {
      throw new RangeError(
        `writeSafetensors: tensor ${t.name} has ${t.data.length} values for shape ${formatShape(t.shape)}`,
      );
    }
    const bytes = t.data.length * bytesPerElement(t.dtype);
    header[t.name] = { dtype: NAME_OF[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20);
  padded.set(json);
  json = padded;
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(json.byteLength), true);

  const handle = await open(path, 'w');
  try {
    let position = 0;
    for (const bytes of [length, json]) position = await writeFully(handle, bytes, position);
    for (const t of tensors) position = await writeFully(handle, encodeValues(t.data, t.dtype), position);
  } finally {
    await handle.close();
  }
}

/** write() may write less than asked (large buffers); loop until all is written. Returns the position after. */
async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  for (let done = 0; done < bytes.byteLength; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
  return position + bytes.byteLength;
}
