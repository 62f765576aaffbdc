// Decode attention, pass 2 of 2: combine the split-K partials of attention_decode_split.wgsl with a log-sum-exp.
//
// Bindings: 0 p: Params (uniform); 1 partial_acc: f32 [heads, splits, D]; 2 partial_ml: f32 [heads, splits, 2]
//   (base-2 max, sum); 3 out: f32 [1, heads, D]. Read as vec4 / vec2.
// Workgroup: WG threads (override), one per output vec4: thread i is column i % D4 of head i / D4. Grid:
//   ceil(heads * D4 / WG) workgroups, folded into 2-D (wg.x + wg.y * grid_x).
// Computes: M = max_s m_s; out[h] = sum_s exp2(m_s - M) acc_s / sum_s exp2(m_s - M) l_s. Empty splits
//   (m = -3e38, l = 0, acc = 0) get weight exp2(-3e38 - M) = 0.

struct Params {
  heads: u32,
  splits: u32,
  grid_x: u32,
}

override D4: u32 = 16u; // head_dim / 4
override WG: u32 = 64u;

const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial_acc: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> partial_ml: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * p.grid_x) * WG + tid;
  if (i >= p.heads * D4) { return; }
  let head = i / D4;
  let c = i % D4;
  let base = head * p.splits;

  var m = NEG_BIG;
  for (var s = 0u; s < p.splits; s++) { m = max(m, partial_ml[base + s].x); }
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < p.splits; s++) {
    let ml = partial_ml[base + s];
    let w = exp2(ml.x - m);
    l = fma(w, ml.y, l);
    acc = fma(vec4<f32>(w), partial_acc[(base + s) * D4 + c], acc);
  }
  out[i] = acc / l;
}
