/** TypeScript twin of shaders/swiglu.wgsl: out = silu(gate) * up over [rows, cols], in f64 rounded to f32. */
export function silu(g: number): number {
  return g / (1 + Math.exp(-g));
}

/** gate, up: [rows, cols]. */
export function swiglu(gate: Float32Array, up: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) out[i] = silu(gate[i]) * up[i];
  return out;
}

/** gateUp: [rows, 2 * cols] with gate in [:, :cols] and up in [:, cols:]. */
export function swigluFused(gateUp: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = silu(gateUp[r * 2 * cols + c]) * gateUp[r * 2 * cols + cols + c];
  }
  return out;
}
