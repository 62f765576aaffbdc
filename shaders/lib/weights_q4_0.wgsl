// Weight reads for q4_0 tensors (after quant_bytes.wgsl): blocks of 32 weights in 18 bytes, d f16 @0 then 16 bytes;
// weight j < 16 is the low nibble of byte j, weight 16 + j its high nibble; w = d * (nibble - 8).
fn weight4(q: u32) -> vec4<f32> {
  let e = 4u * q;
  let j = e & 31u;
  let base = (e >> 5u) * 18u;
  let d = qhalf(base);
  let w = qword(base + 2u + (j & 15u)) >> select(0u, 4u, j >= 16u);
  let codes = vec4<u32>(w & 15u, (w >> 8u) & 15u, (w >> 16u) & 15u, (w >> 24u) & 15u);
  return (vec4<f32>(codes) - 8.0) * d;
}

// A 32-weight run (one block) for matvec_rows_quant.wgsl: weights 4j .. 4j + 3 are the low (j < 4) or high nibbles of
// bytes 4(j & 3) .. 4(j & 3) + 3.
struct Run { d: f32, at: u32 }
fn run_of(e: u32) -> Run {
  let base = (e >> 5u) * 18u;
  return Run(qhalf(base), base + 2u);
}
fn run_weight4(r: Run, j: u32) -> vec4<f32> {
  let w = qword(r.at + 4u * (j & 3u)) >> (4u * (j >> 2u));
  let codes = vec4<u32>(w & 15u, (w >> 8u) & 15u, (w >> 16u) & 15u, (w >> 24u) & 15u);
  return (vec4<f32>(codes) - 8.0) * r.d;
}
