// Weight reads for q8_0 tensors (after quant_bytes.wgsl): blocks of 32 weights in 34 bytes, d f16 @0 then 32 i8 codes;
// w = d * code. weight4(q): elements 4q .. 4q + 3 (flat row-major index; rows are whole blocks, so a flat element
// index finds its block directly), dequantized in registers as ggml's dequantize_row_q8_0 does.
fn weight4(q: u32) -> vec4<f32> {
  let e = 4u * q;
  let base = (e >> 5u) * 34u;
  let d = qhalf(base);
  let w = qword(base + 2u + (e & 31u));
  return vec4<f32>(qsigned(w, 0u), qsigned(w, 1u), qsigned(w, 2u), qsigned(w, 3u)) * d;
}

// A 32-weight run (one block) for matvec_rows_quant.wgsl: run_of(e) with e % 32 == 0, run_weight4(r, j) = weights
// e + 4j .. e + 4j + 3.
struct Run { d: f32, at: u32 }
fn run_of(e: u32) -> Run {
  let base = (e >> 5u) * 34u;
  return Run(qhalf(base), base + 2u);
}
fn run_weight4(r: Run, j: u32) -> vec4<f32> {
  let w = qword(r.at + 4u * j);
  return vec4<f32>(qsigned(w, 0u), qsigned(w, 1u), qsigned(w, 2u), qsigned(w, 3u)) * r.d;
}
