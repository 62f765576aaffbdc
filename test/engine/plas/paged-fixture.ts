/**
 * Random paged batches for the PLAS tests: sequences with shuffled block tables over one page pool, a K/V pool whose
 * unwritten slots hold NaN (so a read past a sequence's keys shows up in the output), and the packed tables.
 */
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { Tensor } from '../../../engine/gpu/tensor.ts';
import { type BatchSequence, packBatch } from '../../../engine/kv/paged-layout.ts';
import type { Rng } from '../../helpers/random.ts';

export interface SeqSpec {
  kvLength: number;
  numQueries: number;
}

export interface PagedFixture {
  sequences: BatchSequence[];
  seqs: Uint32Array;
  blockTables: Uint32Array;
  totalTokens: number;
  numPages: number;
  pageSize: number;
}

/** Sequences after sequence in the batch; pages drawn at random from a pool with a few spare pages. */
export function pagedBatch(rng: Rng, specs: readonly SeqSpec[], pageSize: number): PagedFixture {
  const needed = specs.reduce((n, s) => n + Math.ceil(s.kvLength / pageSize), 0);
  const numPages = needed + 3;
  const free = Array.from({ length: numPages }, (_, i) => i);
  for (let i = free.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [free[i], free[j]] = [free[j], free[i]];
  }
  let offset = 0;
  const sequences = specs.map((s) => {
    const blockTable = free.splice(0, Math.ceil(s.kvLength / pageSize));
    const seq = { queryOffset: offset, numQueries: s.numQueries, kvLength: s.kvLength, blockTable };
    offset += s.numQueries;
    return seq;
  });
  const packed = packBatch(sequences);
  return { sequences, ...packed, totalTokens: offset, numPages, pageSize };
}

/** A pool f32 [numPages, pageSize, kvHeads, D] with random values in every slot a sequence holds, NaN elsewhere. */
export function randomPool(rng: Rng, f: PagedFixture, kvHeads: number, D: number, scale = 1): Float32Array {
  const pool = new Float32Array(f.numPages * f.pageSize * kvHeads * D).fill(Number.NaN);
  for (const s of f.sequences) {
    for (let pos = 0; pos < s.kvLength; pos++) {
      const slot = s.blockTable[Math.floor(pos / f.pageSize)] * f.pageSize + (pos % f.pageSize);
      pool.set(rng.normals(kvHeads * D, scale), slot * kvHeads * D);
    }
  }
  return pool;
}

export function uploadTables(gpu: Gpu, f: PagedFixture): { seqs: Tensor; blockTables: Tensor } {
  return {
    seqs: gpu.upload('u32', [f.sequences.length, 4], f.seqs, 'seqs'),
    blockTables: gpu.upload('u32', [f.blockTables.length], f.blockTables, 'block tables'),
  };
}

export function u32Tensor(gpu: Gpu, values: Uint32Array, label: string): Tensor {
  return gpu.upload('u32', [values.length / 4, 4], values, label);
}

export function destroy(...tensors: Tensor[]): void {
  for (const t of tensors) t.buffer.destroy();
}
