/**
 * How many KV pages a memory budget buys, and how to split them over storage buffers.
 *
 * A page holds `pageSize` tokens of K and V for every layer and KV head: 2 x numLayers x numKvHeads x headDim x
 * bytesPerElement x pageSize bytes, contiguous. WebGPU caps one storage binding (maxStorageBufferBindingSize, 128 MiB
 * unless asked for more) and one buffer (maxBufferSize), so the pool is cut into shards of whole pages, each its own
 * buffer and binding: page p lives in shard floor(p / pagesPerShard) at byte offset (p % pagesPerShard) x pageBytes.
 * A page never straddles two shards, so a kernel reads any page through one binding. How bytes are laid out INSIDE a
 * page (layer, K or V, head, slot) is the attention kernels' choice; only its size is fixed here.
 */

export interface KvSizingInput {
  /** Bytes the KV cache may use, > 0. */
  budgetBytes: number;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** 4 (f32), 2 (f16), or 1 (8-bit). */
  bytesPerElement: number;
  /** Tokens per page: a power of two in [1, 1024], default 64. */
  pageSize?: number;
  /** The largest storage binding (and buffer) the device allows: min(maxStorageBufferBindingSize, maxBufferSize). */
  maxBindingBytes: number;
  /** When PLAS is on: its block size, a power of two in [16, 256] that page_size must divide. */
  plasBlockSize?: number;
  /** Optional cap on pages (e.g. no more than max_num_seqs x max_model_len needs). */
  maxPages?: number;
}

export interface KvShard {
  firstPage: number;
  numPages: number;
  byteLength: number;
}

export interface KvSizing {
  pageSize: number;
  /** Bytes of one page, all layers' K and V. */
  pageBytes: number;
  numPages: number;
  /** numPages x pageSize. */
  numTokens: number;
  /** Pages per shard; every shard but the last holds exactly this many. */
  pagesPerShard: number;
  shards: KvShard[];
}

export const DEFAULT_PAGE_SIZE = 64;

const isPow2 = (n: number) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;

function positiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} (${value}) must be a positive integer`);
}

export function sizeKvCache(input: KvSizingInput): KvSizing {
  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  const { numLayers, numKvHeads, headDim, bytesPerElement, budgetBytes, maxBindingBytes, plasBlockSize } = input;
  positiveInt('num_layers', numLayers);
  positiveInt('num_kv_heads', numKvHeads);
  positiveInt('head_dim', headDim);
  positiveInt('max_binding_bytes', maxBindingBytes);
  if (![1, 2, 4].includes(bytesPerElement)) {
    throw new RangeError(`bytes_per_element (${bytesPerElement}) must be 1, 2 or 4`);
  }
  if (!(budgetBytes > 0)) throw new RangeError(`kv budget (${budgetBytes} bytes) must be > 0`);
  if (plasBlockSize !== undefined) {
    if (!isPow2(plasBlockSize) || plasBlockSize < 16 || plasBlockSize > 256) {
      throw new RangeError(`plas_block_size (${plasBlockSize}) must be a power of two in [16, 256]`);
    }
    if (!isPow2(pageSize) || plasBlockSize % pageSize !== 0) {
      throw new RangeError(
        `page_size (${pageSize}) must be a power of two dividing plas_block_size (${plasBlockSize})`,
      );
    }
  }
  if (!isPow2(pageSize) || pageSize > 1024) {
    throw new RangeError(`page_size (${pageSize}) must be a power of two in [1, 1024]`);
  }
  const pageBytes = 2 * numLayers * numKvHeads * headDim * bytesPerElement * pageSize;
  const pageFormula =
    `page_size ${pageSize} x ${numLayers} layers x ${numKvHeads} kv heads x head_dim ${headDim} x 2 (K and V)` +
    ` x ${bytesPerElement} bytes`;
  if (pageBytes % 4 !== 0) {
    throw new RangeError(`one KV page is ${pageBytes} bytes (${pageFormula}), not a whole number of 32-bit words`);
  }
  if (pageBytes > maxBindingBytes) {
    throw new RangeError(
      `one KV page is ${pageBytes} bytes (${pageFormula}) but max_binding_bytes is ${maxBindingBytes}: lower page_size`,
    );
  }
  let numPages = Math.floor(budgetBytes / pageBytes);
  if (input.maxPages !== undefined) {
    positiveInt('max_pages', input.maxPages);
    numPages = Math.min(numPages, input.maxPages);
  }
  if (numPages < 1) {
    throw new RangeError(
      `kv budget (${budgetBytes} bytes) holds no page of ${pageBytes} bytes (${pageFormula}): raise the budget or lower page_size`,
    );
  }
  const pagesPerShard = Math.min(numPages, Math.floor(maxBindingBytes / pageBytes));
  const shards: KvShard[] = [];
  for (let first = 0; first < numPages; first += pagesPerShard) {
    const n = Math.min(pagesPerShard, numPages - first);
    shards.push({ firstPage: first, numPages: n, byteLength: n * pageBytes });
  }
  return { pageSize, pageBytes, numPages, numTokens: numPages * pageSize, pagesPerShard, shards };
}

/** Where page `page` lives: its shard and the byte offset of its first byte in that shard's buffer. */
export function pageLocation(sizing: KvSizing, page: number): { shard: number; byteOffset: number } {
  if (!Number.isInteger(page) || page < 0 || page >= sizing.numPages) {
    throw new RangeError(`page ${page} is not in [0, ${sizing.numPages})`);
  }
  return {
    shard: Math.floor(page / sizing.pagesPerShard),
    byteOffset: (page % sizing.pagesPerShard) * sizing.pageBytes,
  };
}
