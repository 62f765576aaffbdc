/**
 * TypeScript twin of shaders/matvec.wgsl and shaders/matmul_tiled.wgsl: out = x @ w^T (+ bias).
 * x: [M, K]; w: [N, K] (already rounded to the weight dtype); bias: [N]; returns [M, N].
 * Sums in double precision, so it is the exact answer the f32 kernels approximate.
 */
export function matmul(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  M: number,
  N: number,
  K: number,
): Float32Array {
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const xo = m * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += x[xo + k] * w[wo + k];
      out[m * N + n] = bias ? sum + bias[n] : sum;
    }
  }
  return out;
}
