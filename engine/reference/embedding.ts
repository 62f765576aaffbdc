/**
 * TypeScript twin of shaders/embedding.wgsl. table: [vocab, hidden] (already rounded to its dtype); ids: [tokens].
 * An id outside [0, vocab) gives a row of zeros.
 */
export function embedding(
  ids: ArrayLike<number>,
  table: Float32Array,
  vocab: number,
  hidden: number,
  scale = 1,
): Float32Array {
  const out = new Float32Array(ids.length * hidden);
  const s = Math.fround(scale);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (!(id >= 0 && id < vocab)) continue;
    for (let c = 0; c < hidden; c++) out[t * hidden + c] = table[id * hidden + c] * s;
  }
  return out;
}
