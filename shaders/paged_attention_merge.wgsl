// Paged decode attention, pass 2 of 2: combine the split-K partials of paged_attention_decode.wgsl with a log-sum-exp,
// one decoding sequence per merge item, and write its new token's row of the output.
//
// Bindings: 0 p: Params (uniform); 1 partial_acc: f32 [splits, heads, D]; 2 partial_ml: f32 [splits, heads, 2]
//   (base-2 max, sum); 3 seqs: u32 [B, 4] (query_offset, num_queries, kv_length, table_offset);
//   4 merge_items: u32 [num_items, 4] (seq, first_split, num_splits, 0): the splits of one sequence are consecutive;
//   5 out: f32 [T, heads, D]. Float data is read as vec4 / vec2.
// Workgroup: WG threads (override), one per output vec4 of a sequence: thread i of chunk k is column i' % D4 of head
//   i' / D4, i' = k * WG + i. Grid: num_items * chunks workgroups (chunks = ceil(heads * D4 / WG)), folded into 2-D
//   (id = wg.x + wg.y * grid_x, chunk fastest).
// Computes: M = max_s m_s; out[query_offset, h] = sum_s exp2(m_s - M) acc_s / sum_s exp2(m_s - M) l_s. Empty splits
//   (m = -3e38, l = 0, acc = 0) get weight exp2(-3e38 - M) = 0.

struct Params {
  heads: u32,
  num_items: u32,
  chunks: u32,
  grid_x: u32,
}

override D4: u32 = 16u; // head_dim / 4
override WG: u32 = 64u;

const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial_acc: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> partial_ml: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> seqs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> merge_items: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.num_items * p.chunks) { return; }
  let i = (id % p.chunks) * WG + tid;
  if (i >= p.heads * D4) { return; }
  let item = merge_items[id / p.chunks]; // (seq, first_split, num_splits, 0)
  let head = i / D4;
  let c = i % D4;

  var m = NEG_BIG;
  for (var s = item.y; s < item.y + item.z; s++) { m = max(m, partial_ml[s * p.heads + head].x); }
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var s = item.y; s < item.y + item.z; s++) {
    let ml = partial_ml[s * p.heads + head];
    let w = exp2(ml.x - m);
    l = fma(w, ml.y, l);
    acc = fma(vec4<f32>(w), partial_acc[(s * p.heads + head) * D4 + c], acc);
  }
  out[seqs[item.x].x * p.heads * D4 + i] = acc / l;
}
