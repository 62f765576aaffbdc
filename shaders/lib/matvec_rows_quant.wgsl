// The row work of the decode matrix-vector kernels (matvec, matvec_subgroup) for quantized weights, in place of
// matvec_rows.wgsl: the same partial_sums() contract, but a lane takes whole 32-weight runs (a q8_0/q4_0 block, a
// K-quant sub-block) rather than 4-weight chunks, so each run's scales are decoded once and its codes read as 8 words.
// Contract: the quant libs are prepended (quant_bytes.wgsl, the type's weights_<type>.wgsl with `Run`, run_of() and
// run_weight4()); the kernel declares `p: Params` with n and k (a multiple of 32), `x: array<f32>` [M, K] and MR.

const MAX_M: u32 = 8u;

fn x4(i: u32) -> vec4<f32> { return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }

/// This thread's partial sums of rows r0 .. r0 + 3 against each activation row m, over the runs lane,
/// lane + stride, ...: result[m][j] is row r0 + j. Rows past N are clamped to N - 1 (their sums are never stored).
fn partial_sums(r0: u32, lane: u32, stride: u32) -> array<vec4<f32>, MAX_M> {
  let k = p.k;
  let last = p.n - 1u;
  let b0 = min(r0, last) * k;
  let b1 = min(r0 + 1u, last) * k;
  let b2 = min(r0 + 2u, last) * k;
  let b3 = min(r0 + 3u, last) * k;
  var acc: array<vec4<f32>, MAX_M>;
  let runs = k / 32u;
  for (var c = lane; c < runs; c += stride) {
    let e = 32u * c;
    let q0 = run_of(b0 + e);
    let q1 = run_of(b1 + e);
    let q2 = run_of(b2 + e);
    let q3 = run_of(b3 + e);
    for (var j = 0u; j < 8u; j++) {
      let w0 = run_weight4(q0, j);
      let w1 = run_weight4(q1, j);
      let w2 = run_weight4(q2, j);
      let w3 = run_weight4(q3, j);
      for (var m = 0u; m < MR; m++) {
        let xv = x4(m * k + e + 4u * j);
        acc[m] += vec4<f32>(dot(w0, xv), dot(w1, xv), dot(w2, xv), dot(w3, xv));
      }
    }
  }
  return acc;
}
