// Matrix-vector product for decode, without subgroups: out = x @ weights^T (+ bias).
//
// Bindings: 0 p: Params (uniform); 1 x: f32 [M, K]; 2 weights: [N, K] in the dtype of the lib prepended
//   (weights_f32/f16/bf16.wgsl; 16-bit packed two per u32); 3 out: f32 [M, N];
//   entry main_bias only: 4 bias: [N] in p.bias_dtype (0 f32, 1 f16, 2 bf16; 16-bit packed two per u32; a
//   uniform rather than an override, so the bias dtype does not multiply the pipelines; read by lib/bias.wgsl).
// Workgroup: WG threads in WG / TPR groups of TPR threads; group g owns weight rows 4g .. 4g + 3 of the workgroup's
//   4 * WG / TPR rows. Grid: ceil(N / (4 * WG / TPR)) workgroups, folded into 2-D past 65,535
//   (block = wg.x + wg.y * grid_x).
// Computes: the TPR threads of a group stride over K four elements at a time (adjacent threads read adjacent chunks
//   of each row); every weight chunk is loaded once and dotted with all MR (= M) activation rows, so batched decode
//   rows share each weight load. Per thread: acc[m] = partial sums of the 4 rows (a vec4), f32. Each m is reduced
//   through workgroup memory: the partials are written, one barrier, then lane j < 4 of each group adds up row j.
//   Where `subgroups` exists matvec_subgroup.wgsl does the same without barriers. The per-thread row work is
//   lib/matvec_rows.wgsl.
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

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<u32>;

// One activation row's partials: red[tid] = the 4 row sums of thread tid.
var<workgroup> red: array<vec4<f32>, WG>;

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
  let acc = partial_sums(r0, lane, TPR);
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
  let acc = partial_sums(r0, lane, TPR);
  for (var m = 0u; m < MR; m++) {
    let sum = group_sum(acc[m], m, tid);
    if (lane < 4u && r0 + lane < p.n) { out[m * p.n + r0 + lane] = sum + bias_value(r0 + lane); }
  }
}
