/**
 * How many KV pages the engine allocates, and how the pool is split into GPU buffers.
 *
 * The pool is sharded by layer and by K/V: each layer has a K and a V buffer of [numPages, pageSize, kvHeads, D]
 * in the cache dtype, f16 (default) or f32 (engine/kv/paged-layout.ts), each bound whole by the attention kernels. So the whole pool may be many times one
 * storage binding (2 x numLayers buffers), but one layer's K must fit one binding (maxStorageBufferBindingSize, and
 * maxBuffer Size): that bounds the pages, with the numbers in the error when a budget asks for more.
 *
 * Example: Llama-3-8B (32 layers, 8 KV heads of 128): 128 KiB of KV a token in f16 (256 KiB in f32); a 64-token page
 * is 128 KiB per layer buffer in f16; 131,072 tokens are 2,048 pages = 256 MiB per buffer (64 buffers, 16 GiB in
 * all; twice that in f32), within SwiftShader's 1 GiB binding and a desktop GPU's 1-4 GiB.
 */
import { type KvDType, kvElementBytes } from './paged-layout.ts';

/** KV bytes of one token over all layers, K and V, in a pool of `dtype` (the PLAS key sums not included). */
export function kvBytesPerToken(
  shape: { numLayers: number; kvHeads: number; headDim: number },
  dtype: KvDType,
): number {
  return 2 * shape.numLayers * shape.kvHeads * shape.headDim * kvElementBytes(dtype);
}

export interface KvSizingInput {
  numLayers: number;
  kvHeads: number;
  headDim: number;
  /** Tokens per page (a power of two, validated by the engine config). */
  pageSize: number;
  /** Element type of the pools (default f16). */
  dtype?: KvDType;
  /** The largest buffer the kernels bind whole: min(maxStorageBufferBindingSize, maxBufferSize). */
  maxBindingBytes: number;
  /** Bytes the pool may use in all; default min(1 GiB, a quarter of one binding per buffer). */
  budgetBytes?: number;
  /** An exact page count, instead of a budget. */
  numPages?: number;
  /** More pages than this are of no use (e.g. max_num_seqs full-length sequences). */
  maxUsefulPages?: number;
}

export interface KvSizing {
  dtype: KvDType;
  numPages: number;
  pageSize: number;
  /** numPages x pageSize: the tokens the pool holds at once, over all sequences. */
  tokens: number;
  /** Bytes of one page over all layers, K and V. */
  pageBytes: number;
  /** Bytes of each of the 2 x numLayers buffers. */
  bufferBytes: number;
  buffers: number;
  totalBytes: number;
  /** The most pages one binding allows. */
  maxPages: number;
}

export class KvSizingError extends RangeError {
  override name = 'KvSizingError';
}

export function sizeKvPool(input: KvSizingInput): KvSizing {
  const { numLayers, kvHeads, headDim, pageSize, maxBindingBytes } = input;
  const dtype = input.dtype ?? 'f16';
  const perBufferPage = pageSize * kvHeads * headDim * kvElementBytes(dtype);
  const buffers = 2 * numLayers;
  const pageBytes = perBufferPage * buffers;
  const maxPages = Math.floor(maxBindingBytes / perBufferPage);
  if (maxPages < 1) {
    throw new KvSizingError(
      `one ${dtype} KV page of ${pageSize} tokens x ${kvHeads} kv heads x head_dim ${headDim} is ${perBufferPage} bytes per ` +
        `layer, over this adapter's ${maxBindingBytes}-byte binding limit: lower the page size`,
    );
  }
  const budget = input.budgetBytes ?? Math.min(2 ** 30, (maxBindingBytes / 4) * buffers);
  if (!(budget > 0)) throw new KvSizingError(`kv_cache_memory (${budget} bytes) must be > 0`);
  let numPages = input.numPages ?? Math.floor(budget / pageBytes);
  if (input.numPages === undefined && input.maxUsefulPages !== undefined) {
    numPages = Math.min(numPages, input.maxUsefulPages);
  }
  if (input.numPages === undefined) numPages = Math.min(numPages, maxPages);
  if (numPages < 1) {
    throw new KvSizingError(`kv_cache_memory (${budget} bytes) holds no page of ${pageBytes} bytes`);
  }
  if (numPages > maxPages) {
    throw new KvSizingError(
      `num_pages (${numPages}) needs ${numPages * perBufferPage} bytes per layer buffer, over this adapter's ` +
        `${maxBindingBytes}-byte binding limit (${maxPages} pages): lower cache.memoryBytes`,
    );
  }
  const bufferBytes = numPages * perBufferPage;
  return {
    dtype,
    numPages,
    pageSize,
    tokens: numPages * pageSize,
    pageBytes,
    bufferBytes,
    buffers,
    totalBytes: bufferBytes * buffers,
    maxPages,
  };
}
