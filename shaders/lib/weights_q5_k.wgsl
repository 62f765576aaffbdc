// Weight reads for q5_k tensors (after quant_bytes.wgsl and quant_k_scales.wgsl): super-blocks of 256 weights in 176
// bytes: d f16 @0, dmin f16 @2, 12 bytes of packed 6-bit scales and mins @4, 32 bytes of fifth bits qh @16, 128 bytes
// of nibbles @48. As q4_k, plus bit 2c (low nibbles) or 2c + 1 (high nibbles) of qh[l] adds 16 to the code of weight
// 64c + l or 64c + 32 + l (ggml's dequantize_row_q5_K).
fn weight4(q: u32) -> vec4<f32> {
  let e = 4u * q;
  let r = e & 255u;
  let base = (e >> 8u) * 176u;
  let c = r >> 6u;
  let high = (r >> 5u) & 1u;
  let l = r & 31u;
  let sm = scale_min_k4(base + 4u, 2u * c + high);
  let d = qhalf(base) * f32(sm.x);
  let m = qhalf(base + 2u) * f32(sm.y);
  let w = weights[(base + 48u + 32u * c + l) >> 2u] >> (4u * high);
  let h = weights[(base + 16u + l) >> 2u] >> (2u * c + high);
  let codes = vec4<u32>(w & 15u, (w >> 8u) & 15u, (w >> 16u) & 15u, (w >> 24u) & 15u) +
    16u * vec4<u32>(h & 1u, (h >> 8u) & 1u, (h >> 16u) & 1u, (h >> 24u) & 1u);
  return vec4<f32>(codes) * d - m;
}

// A 32-weight run (one sub-block) for matvec_rows_quant.wgsl: scale and min decoded once; weights 4j .. 4j + 3 are
// nibbles of word j of the run's 32 bytes plus 16 x bit `hbit` of qh word j.
struct Run { d: f32, m: f32, word: u32, shift: u32, qh: u32, hbit: u32 }
fn run_of(e: u32) -> Run {
  let r = e & 255u;
  let base = (e >> 8u) * 176u;
  let c = r >> 6u;
  let high = (r >> 5u) & 1u;
  let sm = scale_min_k4(base + 4u, 2u * c + high);
  return Run(qhalf(base) * f32(sm.x), qhalf(base + 2u) * f32(sm.y), (base + 48u + 32u * c) >> 2u, 4u * high,
    (base + 16u) >> 2u, 2u * c + high);
}
fn run_weight4(r: Run, j: u32) -> vec4<f32> {
  let w = weights[r.word + j] >> r.shift;
  let h = weights[r.qh + j] >> r.hbit;
  let codes = vec4<u32>(w & 15u, (w >> 8u) & 15u, (w >> 16u) & 15u, (w >> 24u) & 15u) +
    16u * vec4<u32>(h & 1u, (h >> 8u) & 1u, (h >> 16u) & 1u, (h >> 24u) & 1u);
  return vec4<f32>(codes) * r.d - r.m;
}
