// Weight reads for q4_k tensors (after quant_bytes.wgsl and quant_k_scales.wgsl): super-blocks of 256 weights in 144
// bytes: d f16 @0, dmin f16 @2, 12 bytes of packed 6-bit scales and mins @4, 128 bytes of nibbles @16. Weight
// 64c + l (l < 32) is the low nibble of byte 16 + 32c + l with sub-block 2c; weight 64c + 32 + l its high nibble with
// sub-block 2c + 1; w = d * scale * nibble - dmin * min (ggml's dequantize_row_q4_K).
fn weight4(q: u32) -> vec4<f32> {
  let e = 4u * q;
  let r = e & 255u;
  let base = (e >> 8u) * 144u;
  let high = (r >> 5u) & 1u;
  let sm = scale_min_k4(base + 4u, (r >> 6u) * 2u + high);
  let d = qhalf(base) * f32(sm.x);
  let m = qhalf(base + 2u) * f32(sm.y);
  let w = weights[(base + 16u + 32u * (r >> 6u) + (r & 31u)) >> 2u] >> (4u * high);
  let codes = vec4<u32>(w & 15u, (w >> 8u) & 15u, (w >> 16u) & 15u, (w >> 24u) & 15u);
  return vec4<f32>(codes) * d - m;
}

// A 32-weight run (one sub-block) for matvec_rows_quant.wgsl: its scale and min decoded once; weights 4j .. 4j + 3
// are nibbles of the (word-aligned) word j of the run's 32 bytes.
struct Run { d: f32, m: f32, word: u32, shift: u32 }
fn run_of(e: u32) -> Run {
  let r = e & 255u;
  let base = (e >> 8u) * 144u;
  let high = (r >> 5u) & 1u;
  let sm = scale_min_k4(base + 4u, (r >> 6u) * 2u + high);
  return Run(qhalf(base) * f32(sm.x), qhalf(base + 2u) * f32(sm.y), (base + 16u + 32u * (r >> 6u)) >> 2u, 4u * high);
}
fn run_weight4(r: Run, j: u32) -> vec4<f32> {
  let w = weights[r.word + j] >> r.shift;
  let codes = vec4<u32>(w & 15u, (w >> 8u) & 15u, (w >> 16u) & 15u, (w >> 24u) & 15u);
  return vec4<f32>(codes) * r.d - r.m;
}
