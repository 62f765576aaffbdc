// The row work of the decode matrix-vector kernels (matvec, matvec_subgroup): 4-element weight chunks and one
// thread's partial sums of 4 weight rows against every activation row. The kernels differ only in how the partials
// of a row's threads are added up (workgroup memory or subgroupAdd).
// Contract: a weights lib (weights_f32/f16/bf16.wgsl) is prepended too; the kernel declares `p: Params` with n and
// k, `x: array<f32>` [M, K] and the overrides MR (activation rows, <= MAX_M) and VEC (4 when K % 4 == 0, 2 when K
// is even, else 1).

const MAX_M: u32 = 8u;

/// Four consecutive weights starting at element e (e % 4 == 0 when VEC == 4, e even when VEC == 2).
fn weight_chunk(e: u32) -> vec4<f32> {
  if (VEC == 4u) { return weight4(e >> 2u); }
  if (VEC == 2u) { return vec4<f32>(weight2(e >> 1u), weight2((e >> 1u) + 1u)); }
  return vec4<f32>(weight(e), weight(e + 1u), weight(e + 2u), weight(e + 3u));
}

/// This thread's partial sums of rows r0 .. r0 + 3 against each activation row m, over the chunks lane,
/// lane + stride, ...: result[m][j] is row r0 + j. Rows past N are clamped to N - 1 (valid memory; their sums are
/// never stored).
fn partial_sums(r0: u32, lane: u32, stride: u32) -> array<vec4<f32>, MAX_M> {
  let k = p.k;
  let last = p.n - 1u;
  let b0 = min(r0, last) * k;
  let b1 = min(r0 + 1u, last) * k;
  let b2 = min(r0 + 2u, last) * k;
  let b3 = min(r0 + 3u, last) * k;
  var acc: array<vec4<f32>, MAX_M>;
  let chunks = k / 4u;
  for (var c = lane; c < chunks; c += stride) {
    let e = 4u * c;
    let w0 = weight_chunk(b0 + e);
    let w1 = weight_chunk(b1 + e);
    let w2 = weight_chunk(b2 + e);
    let w3 = weight_chunk(b3 + e);
    for (var m = 0u; m < MR; m++) {
      let i = m * k + e;
      let xv = vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
      acc[m] += vec4<f32>(dot(w0, xv), dot(w1, xv), dot(w2, xv), dot(w3, xv));
    }
  }
  // K % 4 leftover elements (at most 3), one per lane.
  let i = 4u * chunks + lane;
  if (i < k) {
    let w = vec4<f32>(weight(b0 + i), weight(b1 + i), weight(b2 + i), weight(b3 + i));
    for (var m = 0u; m < MR; m++) { acc[m] += w * x[m * k + i]; }
  }
  return acc;
}
