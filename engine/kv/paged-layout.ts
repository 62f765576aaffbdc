/**
 * The GPU side of the paged KV cache: how pages, block tables and a step's batch are laid out in GPU buffers. The
 * kernels in shaders/paged_*.wgsl and shaders/plas_*.wgsl, their launchers and twins all follow this contract.
 *
 * Pools, per layer (each its own buffer, so the pool is sharded by layer and by K/V: a 128K-token context of an 8B
 * model needs 256 MiB per buffer in f16, 512 MiB in f32, within SwiftShader's 1 GiB binding and a desktop GPU's; see
 * kv-sizing.ts). The pool dtype is the engine's cache.dtype: f16 (default; two halves a u32, element 2i in the low
 * half, rounded to nearest even on store) or f32.
 *   k:        KV dtype [numPages, pageSize, kvHeads, D]   key of token slot s of page p at ((p * pageSize + s) * kvHeads + h) * D
 *   v:        KV dtype [numPages, pageSize, kvHeads, D]
 *   keySums:  f32 [numPages, kvHeads, D]             PLAS: per page, the sum over its filled slots of (post-RoPE) keys,
 *                                                     or of gate-weighted keys W[h, slotInBlock, d] * K[d] when a learned
 *                                                     gate is loaded. A PLAS block of B = ratio * pageSize tokens is
 *                                                     summarised by adding its pages' sums (divided by the tokens present
 *                                                     for mean pooling). Per-page sums are what the prefix cache can share:
 *                                                     a page's sums depend only on its own tokens and its position.
 *   keyBounds: f32 [numPages, kvHeads, 2 * D]        PLAS, the key-bound block score: per page, the per-channel max (first
 *                                                     D) then min of its keys; a block's are its pages' max and min.
 *
 * Sliding window: a model with one (every layer, Mistral v0.1 style) has new token at position t attend keys
 * t - window < j <= t only (PagedBatch.window; 0 for none).
 *
 * A step's batch (built on the CPU from the SchedulerOutput, uploaded once per step):
 *   queries:     f32 [totalTokens, heads, D]  the new tokens of all scheduled sequences, sequence after sequence
 *   seqs:        u32 [B, 4]  per sequence: (queryOffset: row of its first new token in `queries`,
 *                            numQueries: its new tokens this step, kvLength: tokens in its cache AFTER this step's write,
 *                            tableOffset: index of its first entry in blockTables)
 *                            new token i of sequence b is at position kvLength - numQueries + i and attends keys 0..=that.
 *   blockTables: u32 [sum of table lengths]  page ids in sequence order (page j holds positions j*pageSize ..)
 *   slotMapping: u32 [totalTokens]  for each new token: page * pageSize + slot, where its K/V is written
 *
 * Work lists: kernels whose work per sequence varies (prefill tiles, decode splits) take a CPU-built list of work items
 * instead of a grid over the largest sequence: u32 [items, 4] = (seq, firstQueryRow or kvStart, count, extra).
 */
import type { Tensor } from '../gpu/tensor.ts';

/** Element type of the K and V pools (the key sums stay f32). */
export type KvDType = 'f16' | 'f32';
export const KV_DTYPES: readonly KvDType[] = ['f16', 'f32'];

/** Bytes of one K or V element in a pool of `dtype`. */
export function kvElementBytes(dtype: KvDType): number {
  return dtype === 'f16' ? 2 : 4;
}

export interface PagedKvLayer {
  k: Tensor; // f16 or f32 [numPages, pageSize, kvHeads, D]
  v: Tensor; // same dtype and shape as k
  /** Present when PLAS is on: f32 [numPages, kvHeads, D]. */
  keySums?: Tensor;
  /** Present when PLAS is on: f32 [numPages, kvHeads, 2 * D] (max, then min). */
  keyBounds?: Tensor;
}

export interface PagedKvShape {
  numPages: number;
  pageSize: number;
  kvHeads: number;
  headDim: number;
}

/** Columns of the `seqs` table. */
export const SEQ_QUERY_OFFSET = 0;
export const SEQ_NUM_QUERIES = 1;
export const SEQ_KV_LENGTH = 2;
export const SEQ_TABLE_OFFSET = 3;
export const SEQ_COLUMNS = 4;

export interface BatchSequence {
  /** Row of its first new token in the batch's queries. */
  queryOffset: number;
  numQueries: number;
  /** Tokens in its cache after this step's K/V write. */
  kvLength: number;
  blockTable: readonly number[];
}

/** Pack the seqs table and the concatenated block tables (what the kernels bind). */
export function packBatch(seqs: readonly BatchSequence[]): { seqs: Uint32Array; blockTables: Uint32Array } {
  const table: number[] = [];
  const packed = new Uint32Array(seqs.length * SEQ_COLUMNS);
  seqs.forEach((s, b) => {
    packed[b * SEQ_COLUMNS + SEQ_QUERY_OFFSET] = s.queryOffset;
    packed[b * SEQ_COLUMNS + SEQ_NUM_QUERIES] = s.numQueries;
    packed[b * SEQ_COLUMNS + SEQ_KV_LENGTH] = s.kvLength;
    packed[b * SEQ_COLUMNS + SEQ_TABLE_OFFSET] = table.length;
    table.push(...s.blockTable);
  });
  return { seqs: packed, blockTables: Uint32Array.from(table.length ? table : [0]) };
}

/** Slot of every new token: page * pageSize + slot, for the K/V write. */
export function slotMapping(seqs: readonly BatchSequence[], pageSize: number): Uint32Array {
  const slots: number[] = [];
  for (const s of seqs) {
    for (let i = 0; i < s.numQueries; i++) {
      const pos = s.kvLength - s.numQueries + i;
      const page = s.blockTable[Math.floor(pos / pageSize)];
      if (page === undefined) throw new Error(`block table too short for position ${pos} (page size ${pageSize})`);
      slots.push(page * pageSize + (pos % pageSize));
    }
  }
  return Uint32Array.from(slots);
}
