/**
 * TypeScript twin of shaders/plas_key_sums.wgsl: per-page sums of (gate-weighted) keys, brought up to date after a
 * step's K/V write. k: [numPages, pageSize, kvHeads, D]; keySums: [numPages, kvHeads, D] (updated in place);
 * items: u32 [I, 4] = (page, firstSlot, count, blockOffset) from plan.ts keySumItems; gate: [kvHeads, blockSize, D].
 * A page whose first new slot is 0 starts from zero, otherwise from its current sum; the sum runs over the slots in
 * order, in f32 as the kernel does.
 */
export interface KeySumShape {
  pageSize: number;
  kvHeads: number;
  D: number;
  blockSize: number;
}

export function plasKeySums(
  k: Float32Array,
  keySums: Float32Array,
  items: Uint32Array,
  s: KeySumShape,
  gate?: Float32Array,
): Float32Array {
  const { pageSize, kvHeads, D, blockSize } = s;
  const f = Math.fround;
  for (let i = 0; i < items.length / 4; i++) {
    const [page, firstSlot, count, blockOffset] = items.subarray(i * 4, i * 4 + 4);
    for (let h = 0; h < kvHeads; h++) {
      const sumBase = (page * kvHeads + h) * D;
      for (let d = 0; d < D; d++) {
        let acc = firstSlot === 0 ? 0 : keySums[sumBase + d];
        for (let slot = firstSlot; slot < firstSlot + count; slot++) {
          const key = k[((page * pageSize + slot) * kvHeads + h) * D + d];
          const w = gate ? gate[(h * blockSize + blockOffset + slot) * D + d] : 1;
          acc = f(acc + f(w * key));
        }
        keySums[sumBase + d] = acc;
      }
    }
  }
  return keySums;
}

/**
 * The compressed keys of one sequence from scratch, for tests: Kc[b, h, d] = the block's mean (or gate-weighted sum)
 * of keys 0 ..< kvLength. k: [numPages, pageSize, kvHeads, D]; returns [ceil(kvLength / blockSize), kvHeads, D].
 */
export function compressedKeys(
  k: Float32Array,
  blockTable: readonly number[],
  kvLength: number,
  s: KeySumShape,
  gate?: Float32Array,
): Float64Array {
  const { pageSize, kvHeads, D, blockSize } = s;
  const nb = Math.ceil(kvLength / blockSize);
  const out = new Float64Array(nb * kvHeads * D);
  for (let pos = 0; pos < kvLength; pos++) {
    const b = Math.floor(pos / blockSize);
    const page = blockTable[Math.floor(pos / pageSize)];
    const present = Math.min(blockSize, kvLength - b * blockSize);
    for (let h = 0; h < kvHeads; h++) {
      for (let d = 0; d < D; d++) {
        const key = k[((page * pageSize + (pos % pageSize)) * kvHeads + h) * D + d];
        const term = gate ? gate[(h * blockSize + (pos % blockSize)) * D + d] * key : key / present;
        out[(b * kvHeads + h) * D + d] += term;
      }
    }
  }
  return out;
}

/**
 * Twin of shaders/plas_key_sums.wgsl main_bounds: per page and kv head, the per-channel max (first D values) then min
 * of its keys, brought up to date after a step's K/V write. bounds: [numPages, kvHeads, 2, D] (updated in place); a
 * page whose first new slot is 0 starts from its new keys alone.
 */
export function plasKeyBounds(
  k: Float32Array,
  bounds: Float32Array,
  items: Uint32Array,
  s: Omit<KeySumShape, 'blockSize'>,
): Float32Array {
  const { pageSize, kvHeads, D } = s;
  for (let i = 0; i < items.length / 4; i++) {
    const [page, firstSlot, count] = items.subarray(i * 4, i * 4 + 3);
    for (let h = 0; h < kvHeads; h++) {
      const hiBase = (page * kvHeads + h) * 2 * D;
      for (let d = 0; d < D; d++) {
        let hi = firstSlot === 0 ? Number.NEGATIVE_INFINITY : bounds[hiBase + d];
        let lo = firstSlot === 0 ? Number.POSITIVE_INFINITY : bounds[hiBase + D + d];
        for (let slot = firstSlot; slot < firstSlot + count; slot++) {
          const key = k[((page * pageSize + slot) * kvHeads + h) * D + d];
          hi = Math.max(hi, key);
          lo = Math.min(lo, key);
        }
        bounds[hiBase + d] = hi;
        bounds[hiBase + D + d] = lo;
      }
    }
  }
  return bounds;
}

/**
 * The key bounds of one sequence's blocks from scratch, for tests: [ceil(kvLength / blockSize), kvHeads, 2, D], the
 * per-channel max then min over the block's keys 0 ..< kvLength.
 */
export function blockKeyBounds(
  k: Float32Array,
  blockTable: readonly number[],
  kvLength: number,
  s: KeySumShape,
): Float64Array {
  const { pageSize, kvHeads, D, blockSize } = s;
  const nb = Math.ceil(kvLength / blockSize);
  const out = new Float64Array(nb * kvHeads * 2 * D);
  for (let b = 0; b < nb; b++) {
    for (let h = 0; h < kvHeads; h++) {
      const base = (b * kvHeads + h) * 2 * D;
      out.fill(Number.NEGATIVE_INFINITY, base, base + D);
      out.fill(Number.POSITIVE_INFINITY, base + D, base + 2 * D);
    }
  }
  for (let pos = 0; pos < kvLength; pos++) {
    const b = Math.floor(pos / blockSize);
    const page = blockTable[Math.floor(pos / pageSize)];
    for (let h = 0; h < kvHeads; h++) {
      const base = (b * kvHeads + h) * 2 * D;
      for (let d = 0; d < D; d++) {
        const key = k[((page * pageSize + (pos % pageSize)) * kvHeads + h) * D + d];
        out[base + d] = Math.max(out[base + d], key);
        out[base + D + d] = Math.min(out[base + D + d], key);
      }
    }
  }
  return out;
}
