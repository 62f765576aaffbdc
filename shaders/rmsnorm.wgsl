// RMSNorm over the last dimension, optionally fused with the residual add that precedes it.
//
// Bindings: 0 p: Params (uniform); 1 x: f32 [rows, n]; 2 weights: [n] in the dtype of the lib prepended
//   (weights_f32/f16/bf16.wgsl); 3 out: f32 [rows, n];
//   entry main_residual only: 4 residual: f32 [rows, n]; 5 residual_out: f32 [rows, n].
// Workgroup: WG threads (override, a power of two <= 256) per row; grid: one workgroup per row, folded into 2-D
//   (row = wg.x + wg.y * grid_x) past 65,535 rows.
// Computes: h = x (+ residual, written to residual_out); out = h * inverseSqrt(mean(h^2) + eps) * (w + weight_offset).
//   weight_offset is 1 for Gemma-style norms that store w - 1, else 0.

struct Params {
  rows: u32,
  n: u32,
  eps: f32,
  weight_offset: f32,
  grid_x: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> residual_out: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn reduce_sum(tid: u32, value: f32) -> f32 {
  partial[tid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (tid < stride) { partial[tid] = partial[tid] + partial[tid + stride]; }
    workgroupBarrier();
  }
  return partial[0];
}

fn row_scale(tid: u32, sumsq: f32) -> f32 {
  return inverseSqrt(reduce_sum(tid, sumsq) / f32(p.n) + p.eps);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * p.grid_x;
  if (row >= p.rows) { return; }
  let base = row * p.n;
  var sumsq = 0.0;
  for (var i = tid; i < p.n; i = i + WG) {
    let h = x[base + i];
    sumsq = sumsq + h * h;
  }
  let scale = row_scale(tid, sumsq);
  for (var i = tid; i < p.n; i = i + WG) {
    out[base + i] = x[base + i] * scale * (weight(i) + p.weight_offset);
  }
}

@compute @workgroup_size(WG)
fn main_residual(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * p.grid_x;
  if (row >= p.rows) { return; }
  let base = row * p.n;
  var sumsq = 0.0;
  for (var i = tid; i < p.n; i = i + WG) {
    let h = x[base + i] + residual[base + i];
    residual_out[base + i] = h;
    sumsq = sumsq + h * h;
  }
  let scale = row_scale(tid, sumsq);
  // Each thread reads back only the elements it wrote above, so no barrier is needed.
  for (var i = tid; i < p.n; i = i + WG) {
    out[base + i] = residual_out[base + i] * scale * (weight(i) + p.weight_offset);
  }
}
