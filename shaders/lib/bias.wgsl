// Bias reads for the matrix kernels (matvec, matvec_subgroup, matmul_tiled). Contract: the kernel declares
// `bias: array<u32>` and `p: Params` with bias_dtype (0 f32, 1 f16, 2 bf16; 16-bit values packed two per u32, element
// 2i in the low half; a uniform rather than an override, so the bias dtype does not multiply the pipelines).
fn bias_value(i: u32) -> f32 {
  if (p.bias_dtype == 0u) { return bitcast<f32>(bias[i]); }
  let word = bias[i >> 1u];
  let bits = select(word & 0xffffu, word >> 16u, (i & 1u) == 1u);
  if (p.bias_dtype == 1u) { return unpack2x16float(bits).x; }
  return bitcast<f32>(bits << 16u);
}
