// The 6-bit scales and mins of q4_k and q5_k (after quant_bytes.wgsl): 12 bytes at byte `at` hold 8 scales and 8
// mins; sub-block j's (scale, min) as ggml's get_scale_min_k4.
fn scale_min_k4(at: u32, j: u32) -> vec2<u32> {
  if (j < 4u) { return vec2<u32>(qbyte(at + j) & 63u, qbyte(at + j + 4u) & 63u); }
  let packed = qbyte(at + j + 4u);
  return vec2<u32>((packed & 15u) | ((qbyte(at + j - 4u) >> 6u) << 4u), (packed >> 4u) | ((qbyte(at + j) >> 6u) << 4u));
}
