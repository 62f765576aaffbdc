// Row softmax for log-probabilities: out = softmax(x * inv_temperature) over the last dimension. -inf (and NaN) give 0;
// a row with no finite value gives zeros.
//
// Bindings: 0 p: Params (uniform); 1 x: f32 [rows, n]; 2 out: f32 [rows, n].
// Workgroup: WG threads (override, a power of two <= 256) per row. Pass 1: each thread keeps an online (max, sum of
//   exp) over a strided slice; a tree merges them. Pass 2 writes exp(y - max) / sum. Grid: one workgroup per row,
//   folded into 2-D (row = wg.x + wg.y * grid_x).

struct Params {
  rows: u32,
  n: u32,
  inv_temperature: f32,
  grid_x: u32,
}

override WG: u32 = 256u;
const LOWEST: f32 = -3.4028234663852886e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> part_max: array<f32, WG>;
var<workgroup> part_sum: array<f32, WG>;

const NEG_INF_BITS: u32 = 0xff800000u;

// Logit times inverse temperature; NaN and -inf come back as -inf, which callers skip.
fn scaled(v: f32) -> f32 {
  var b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { b = NEG_INF_BITS; }
  if (b == NEG_INF_BITS) { return bitcast<f32>(b); } // a constant -inf is a WGSL error, so build it at run time
  return v * p.inv_temperature;
}

fn skip(y: f32) -> bool { return bitcast<u32>(y) == NEG_INF_BITS; }

// exp of a difference that is <= 0 (or -inf when it overflowed), without relying on inf arithmetic.
fn exp_le0(d: f32) -> f32 { return exp(max(d, -200.0)); }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * p.grid_x;
  if (row >= p.rows) { return; }
  let base = row * p.n;
  var m = LOWEST;
  var s = 0.0;
  for (var i = tid; i < p.n; i = i + WG) {
    let y = scaled(x[base + i]);
    if (skip(y)) { continue; }
    if (y > m) {
      s = s * exp_le0(m - y);
      m = y;
    }
    s = s + exp_le0(y - m);
  }
  part_max[tid] = m;
  part_sum[tid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (tid < stride) {
      let m2 = part_max[tid + stride];
      let mm = max(m, m2);
      s = s * exp_le0(m - mm) + part_sum[tid + stride] * exp_le0(m2 - mm);
      m = mm;
      part_max[tid] = m;
      part_sum[tid] = s;
    }
    workgroupBarrier();
  }
  let row_max = part_max[0];
  let row_sum = part_sum[0];
  for (var i = tid; i < p.n; i = i + WG) {
    let y = scaled(x[base + i]);
    var v = 0.0;
    if (!skip(y) && row_sum > 0.0) { v = exp_le0(y - row_max) / row_sum; }
    out[base + i] = v;
  }
}
