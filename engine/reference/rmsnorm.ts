/** TypeScript twin of shaders/rmsnorm.wgsl. x, residual: [rows, n]; weight: [n]. */
export function rmsnorm(
  x: Float32Array,
  weight: Float32Array,
  rows: number,
  n: number,
  eps: number,
  options: { residual?: Float32Array; weightOffset?: number } = {},
): { out: Float32Array; residualOut?: Float32Array } {
  const out = new Float32Array(rows * n);
  const h = options.residual ? new Float32Array(rows * n) : x;
  if (options.residual) for (let i = 0; i < rows * n; i++) h[i] = x[i] + options.residual[i];
  const offset = options.weightOffset ?? 0;
  for (let r = 0; r < rows; r++) {
    let sumsq = 0;
    for (let i = 0; i < n; i++) sumsq += h[r * n + i] ** 2;
    const scale = 1 / Math.sqrt(sumsq / n + eps);
    for (let i = 0; i < n; i++) out[r * n + i] = h[r * n + i] * scale * (weight[i] + offset);
  }
  return options.residual ? { out, residualOut: h } : { out };
}
