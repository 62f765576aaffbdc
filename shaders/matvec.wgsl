// Matrix-vector product for decode, without subgroups: out = x @ weights^T (+ bias).
//
// Bindings: 0 p: Params (uniform); 1 x: f32 [M, K]; 2 weights: [N, K] in the dtype of the lib prepended
//   (weights_f32/f16/bf16.wgsl; 16-bit packed two per u32); 3 out: f32 [M, N];
//   entry main_bias only: 4 bias: [N] in p.bias_dtype (0 f32, 1 f16, 2 bf16; 16-bit packed two per u32; a
//   uniform rather than an override, so the bias dtype does not multiply the pipelines).
// Workgroup: WG threads in WG / TPR groups of TPR threads; group g owns weight rows 4g .. 4g + 3 of the workgroup's
//   4 * WG / TPR rows. Grid: ceil(N / (4 * WG / TPR)) workgroups, folded into 2-D past 65,535
//   (block = wg.x + wg.y * grid_x).
// Computes: the TPR threads of a group stride over K four elements at a time (adjacent threads read adjacent chunks
//   of each row); every weight chunk is loaded once and dotted with all MR (= M) activation rows, so batched decode
//   rows share each weight load. Per thread: acc[m] = partial sums of the 4 rows (a vec4), f32. Each m is reduced
//   through workgroup memory: the partials are written, one barrier, then lane j < 4 of each group adds up row j.
//   Where `subgroups` exists matvec_subgroup.wgsl does the same without barriers.
// Assumes: 1 <= MR <= 8; TPR a power of two in [4, WG]; VEC = 4 when K % 4 == 0 (weight4), 2 when K is even
//   (weight2 pairs), else 1 (weight()).

struct Params {
  m: u32,
  n: u32,
  k: u32,
  grid_x: u32,
  bias_dtype: u32,
}

override WG: u32 = 64u;
override TPR: u32 = 8u;
override MR: u32 = 1u;
override VEC: u32 = 4u;

const MAX_M: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<u32>;

// One activation row's partials: red[tid] = the 4 row sums of thread tid.
var<workgroup> red: array<vec4<f32>, WG>;

/// Four consecutive weights starting at element e (e % 4 == 0 when VEC == 4, e even when VEC == 2).
fn weight_chunk(e: u32) -> vec4<f32> {
  if (VEC == 4u) { return weight4(e >> 2u); }
  if (VEC == 2u) { return vec4<f32>(weight2(e >> 1u), weight2((e >> 1u) + 1u)); }
  return vec4<f32>(weight(e), weight(e + 1u), weight(e + 2u), weight(e + 3u));
}

fn bias_value(i: u32) -> f32 {
  if (p.bias_dtype == 0u) { return bitcast<f32>(bias[i]); }
  let word = bias[i >> 1u];
  let bits = select(word & 0xffffu, word >> 16u, (i & 1u) == 1u);
  if (p.bias_dtype == 1u) { return unpack2x16float(bits).x; }
  return bitcast<f32>(bits << 16u);
}

/// This thread's partial sums of rows r0 .. r0 + 3 against each activation row m: result[m][j] is row r0 + j.
/// Rows past N are clamped to N - 1 (valid memory; their sums are never stored).
fn partial_sums(r0: u32, lane: u32) -> array<vec4<f32>, MAX_M> {
  let k = p.k;
  let last = p.n - 1u;
  let b0 = min(r0, last) * k;
  let b1 = min(r0 + 1u, last) * k;
  let b2 = min(r0 + 2u, last) * k;
  let b3 = min(r0 + 3u, last) * k;
  var acc: array<vec4<f32>, MAX_M>;
  let chunks = k / 4u;
  for (var c = lane; c < chunks; c += TPR) {
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

/// Row r0 + lane's total for activation row m, valid in lanes 0..3 of the group after the barrier inside; every
/// thread of the workgroup must call it with the same m (it holds barriers).
fn group_sum(acc: vec4<f32>, m: u32, tid: u32) -> f32 {
  if (m > 0u) { workgroupBarrier(); } // the previous m's partials have been read
  red[tid] = acc;
  workgroupBarrier();
  let lane = tid % TPR;
  if (lane >= 4u) { return 0.0; }
  let start = tid - lane;
  var sum = 0.0;
  for (var j = 0u; j < TPR; j++) { sum += red[start + j][lane]; }
  return sum;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row0 = (wg.x + wg.y * p.grid_x) * (4u * WG / TPR);
  if (row0 >= p.n) { return; }
  let lane = tid % TPR;
  let r0 = row0 + 4u * (tid / TPR);
  let acc = partial_sums(r0, lane);
  for (var m = 0u; m < MR; m++) {
    let sum = group_sum(acc[m], m, tid);
    if (lane < 4u && r0 + lane < p.n) { out[m * p.n + r0 + lane] = sum; }
  }
}

@compute @workgroup_size(WG)
fn main_bias(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row0 = (wg.x + wg.y * p.grid_x) * (4u * WG / TPR);
  if (row0 >= p.n) { return; }
  let lane = tid % TPR;
  let r0 = row0 + 4u * (tid / TPR);
  let acc = partial_sums(r0, lane);
  for (var m = 0u; m < MR; m++) {
    let sum = group_sum(acc[m], m, tid);
    if (lane < 4u && r0 + lane < p.n) { out[m * p.n + r0 + lane] = sum + bias_value(r0 + lane); }
  }
}
