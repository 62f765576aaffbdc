/**
 * Streams a model's tensors from disk to the GPU, chunk by chunk (no second copy of the model in JavaScript memory),
 * reporting progress. On any failure every tensor already created is destroyed, so a bad file leaves no GPU memory
 * behind.
 *
 * Quantized tensors (a TensorEntry whose dtype is a QuantType, e.g. from a GGUF file) are uploaded as their raw ggml
 * block bytes, unchanged: blocks back to back in row-major order, the buffer padded with zeros to a whole number of
 * u32 words (lib/quant_bytes.wgsl reads blocks at any byte alignment, so q8_0's 34-byte, q4_0's 18-byte and q6_k's
 * 210-byte blocks need no repacking). The kernels dequantize them in registers.
 *
 * A 2-D tensor larger than one storage binding (maxStorageBufferBindingSize, or maxBufferSize if smaller) is split by
 * rows into parts of at most that size, each its own buffer, with row counts a multiple of 64 (so a part's output
 * columns start on a bindable 256-byte offset): `tensor.parts`, which embedding() and linear() run part by part.
 */
import type { DType } from '../gpu/dtype.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { byteSize, type Tensor, type TensorPart } from '../gpu/tensor.ts';
import { quantize } from '../quant/quantize.ts';
import { isQuantType, type QuantType } from '../quant/types.ts';
import { ModelWeightsError } from './errors.ts';
import type { ModelWeights } from './model-weights.ts';
import { readTensor, readTensorChunks, type TensorEntry } from './safetensors.ts';

const CHUNK_BYTES = 16 * 2 ** 20;
/** Rows of a split part are a multiple of this: 64 f32 outputs are 256 bytes, the largest offset alignment. */
const PART_ROW_MULTIPLE = 64;

export type LoadProgress = (loadedBytes: number, totalBytes: number, tensor: string) => void;

export interface UploadOptions {
  /** The most bytes one tensor buffer may hold (default: the adapter's binding and buffer limits); tests lower it to
   * make a tiny model's embedding split. */
  maxBindingBytes?: number;
  /**
   * Quantize float tensors in memory as they load: the type for a tensor, or undefined to keep it as it is. For tests
   * and fixtures (a quantized model without a GGUF file); the tensor is read whole as f32 first.
   */
  quantize?: (entry: TensorEntry) => QuantType | undefined;
}

/**
 * GPU bytes the tensors will take once uploaded (each part's buffer rounded up to whole 4-byte words, as
 * Gpu.createTensor allocates), computed from the headers before anything is allocated. Throws what uploadWeights
 * would (a missing tensor, a tensor that cannot be split).
 */
export function plannedWeightBytes(
  gpu: Gpu,
  weights: ModelWeights,
  names: Iterable<string>,
  options: UploadOptions = {},
): number {
  let total = 0;
  for (const plan of planAll(gpu, weights, names, options)) {
    for (const rows of plan.partRows) total += Math.max(4, Math.ceil((rows * plan.rowBytes) / 4) * 4);
  }
  return total;
}

function planAll(gpu: Gpu, weights: ModelWeights, names: Iterable<string>, options: UploadOptions): UploadPlan[] {
  const entries = [...names].map((name) => {
    const entry = weights.tensors.get(name);
    if (!entry) throw new ModelWeightsError(weights.dir, `missing tensor ${name}`);
    return entry;
  });
  const limit = options.maxBindingBytes ?? Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  return entries.map((e) => planUpload(e, options.quantize?.(e), limit));
}

export async function uploadWeights(
  gpu: Gpu,
  weights: ModelWeights,
  names: Iterable<string>,
  onProgress: LoadProgress = () => {},
  options: UploadOptions = {},
): Promise<Map<string, Tensor>> {
  const plans = planAll(gpu, weights, names, options);
  const total = plans.reduce((sum, p) => sum + p.bytes, 0);
  const tensors = new Map<string, Tensor>();
  const created: GPUBuffer[] = []; // every buffer so far, freed on failure (a split tensor's parts included)
  let loaded = 0;
  try {
    for (const plan of plans) {
      const { entry: e } = plan;
      const parts: TensorPart[] = plan.partRows.map((rows, i) => {
        const label = plan.partRows.length > 1 ? `${e.name}#${i}` : e.name;
        const tensor = gpu.createTensor(plan.dtype, [rows, ...e.shape.slice(1)], label);
        created.push(tensor.buffer);
        return { rowStart: i * plan.partRows[0], tensor };
      });
      const tensor: Tensor =
        parts.length === 1 ? parts[0].tensor : { ...parts[0].tensor, shape: [...e.shape], label: e.name, parts };
      tensors.set(e.name, tensor);
      const write = (chunk: Uint8Array, offset: number) => {
        writeToParts(gpu, parts, plan.rowBytes, chunk, offset);
        loaded += chunk.byteLength;
        onProgress(loaded, total, e.name);
      };
      if (plan.dtype === e.dtype) await readTensorChunks(e, CHUNK_BYTES, write);
      else {
        const [rows, cols] = [e.shape[0], e.shape.slice(1).reduce((a, b) => a * b, 1)];
        write(quantize(plan.dtype as QuantType, await readTensor(e), rows, cols), 0);
      }
    }
    await gpu.device.queue.onSubmittedWorkDone();
    gpu.throwIfLost();
    return tensors;
  } catch (error) {
    for (const b of created) b.destroy();
    throw error;
  }
}

interface UploadPlan {
  entry: TensorEntry;
  /** The dtype on the GPU: the entry's, or the quantized type it is quantized to. */
  dtype: DType;
  /** Bytes on the GPU (before word padding). */
  bytes: number;
  /** Bytes of one row (of the first dimension). */
  rowBytes: number;
  /** Rows of each part; one part when the tensor fits a binding. */
  partRows: number[];
}

function planUpload(e: TensorEntry, quantizeTo: QuantType | undefined, limit: number): UploadPlan {
  const fail = (detail: string): never => {
    throw new ModelWeightsError(e.file, `tensor ${e.name}: ${detail}`);
  };
  let dtype: DType = e.dtype;
  if (quantizeTo && !isQuantType(e.dtype)) {
    if (e.shape.length !== 2) fail(`only 2-D tensors can be quantized, got shape [${e.shape.join(', ')}]`);
    dtype = quantizeTo;
  }
  let bytes = 0;
  try {
    bytes = byteSize({ dtype, shape: e.shape });
  } catch (error) {
    fail((error as Error).message);
  }
  if (dtype === e.dtype && bytes !== e.byteLength) fail(`holds ${e.byteLength} bytes where ${dtype} needs ${bytes}`);
  const rows = e.shape[0] ?? 1;
  const rowBytes = e.shape.length >= 1 && rows > 0 ? bytes / rows : bytes;
  if (bytes <= limit) return { entry: e, dtype, bytes, rowBytes, partRows: [rows] };
  if (e.shape.length !== 2) {
    fail(`is ${bytes} bytes, over this adapter's ${limit}-byte binding limit, and only 2-D tensors can be split`);
  }
  const perPart = Math.floor(limit / rowBytes / PART_ROW_MULTIPLE) * PART_ROW_MULTIPLE;
  if (perPart < PART_ROW_MULTIPLE) {
    fail(`${PART_ROW_MULTIPLE} rows of ${rowBytes} bytes do not fit this adapter's ${limit}-byte binding limit`);
  }
  const partRows: number[] = [];
  for (let r = 0; r < rows; r += perPart) partRows.push(Math.min(perPart, rows - r));
  return { entry: e, dtype, bytes, rowBytes, partRows };
}

/** Writes bytes [offset, offset + chunk.length) of the whole tensor into the parts that hold them. */
function writeToParts(gpu: Gpu, parts: readonly TensorPart[], rowBytes: number, chunk: Uint8Array, offset: number) {
  const end = offset + chunk.byteLength;
  for (const { rowStart, tensor } of parts) {
    const partStart = rowStart * rowBytes;
    const partEnd = partStart + tensor.shape[0] * rowBytes;
    const from = Math.max(offset, partStart);
    const to = Math.min(end, partEnd);
    if (from >= to) continue;
    gpu.writeBytes(tensor, chunk.subarray(from - offset, to - offset), from - partStart); // copies the bytes
  }
}
