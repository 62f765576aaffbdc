/**
 * TypeScript twin of shaders/attention_prefill.wgsl and shaders/attention_decode_{split,merge}.wgsl: plain causal
 * softmax(Q K^T * scale) V with grouped-query heads, in f64. q: [T, heads, D]; k, v: [S, kvHeads, D] (rows
 * 0..kvLength-1 used); query row t is position queryStart + t and sees keys 0..=queryStart + t.
 */
export interface AttentionShape {
  /** Query rows. */
  T: number;
  heads: number;
  kvHeads: number;
  D: number;
  queryStart: number;
  kvLength: number;
  /** Default 1/sqrt(D). */
  scale?: number;
}

export function attention(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape): Float32Array {
  const { T, heads, kvHeads, D, queryStart, kvLength } = s;
  const scale = s.scale ?? 1 / Math.sqrt(D);
  const group = heads / kvHeads;
  const out = new Float32Array(T * heads * D); // [T, heads, D]
  const scores = new Float64Array(kvLength);
  const acc = new Float64Array(D);
  for (let t = 0; t < T; t++) {
    const visible = Math.min(kvLength, queryStart + t + 1); // causal: keys 0 ..= queryStart + t
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const qBase = (t * heads + h) * D;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < visible; j++) {
        const kBase = (j * kvHeads + kvh) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qBase + d] * k[kBase + d];
        scores[j] = dot * scale;
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j < visible; j++) {
        const p = Math.exp(scores[j] - max);
        sum += p;
        const vBase = (j * kvHeads + kvh) * D;
        for (let d = 0; d < D; d++) acc[d] += p * v[vBase + d];
      }
      for (let d = 0; d < D; d++) out[qBase + d] = acc[d] / sum;
    }
  }
  return out;
}

/** Decode is the one-row case: the new token sits at position kvLength - 1 and sees every key. q: [1, heads, D]. */
export function attentionDecode(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  s: Omit<AttentionShape, 'T' | 'queryStart'>,
): Float32Array {
  return attention(q, k, v, { ...s, T: 1, queryStart: s.kvLength - 1 });
}
