// Token embedding lookup: out[t, :] = table[ids[t] - row0, :] * scale. An id outside [row0, row0 + vocab) gives a row
// of zeros, or, when p.skip_outside is 1, leaves the row as it is (it is never used to index the table), so a bad
// token id cannot read out of bounds. A table split by rows across buffers runs once per part (row0 = the part's first
// row): the first part writes every row (zeros for ids it does not hold), the others only their own rows.
//
// Bindings: 0 p: Params (uniform); 1 ids: u32 [tokens]; 2 weights: table [vocab, hidden] in the dtype of the lib
//   prepended (weights_f32/f16/bf16.wgsl; 16-bit tables stay packed two per u32; quantized tables as ggml blocks,
//   lib/quant_bytes.wgsl + lib/weights_<type>.wgsl, dequantized in registers); 3 out: f32 [tokens, hidden].
// Workgroup: WG threads (override); each thread writes VEC (override: 4 when hidden % 4 == 0, read with weight4;
//   else 1) consecutive columns. Grid: tokens * chunks workgroups, chunks = ceil(hidden / (WG * VEC)), folded into 2-D
//   (block = wg.x + wg.y * grid_x; token = block / chunks).

struct Params {
  tokens: u32,
  hidden: u32,
  vocab: u32,
  scale: f32,
  chunks: u32,
  grid_x: u32,
  row0: u32,
  skip_outside: u32,
}

override WG: u32 = 256u;
override VEC: u32 = 4u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let block = wg.x + wg.y * p.grid_x;
  let t = block / p.chunks;
  if (t >= p.tokens) { return; }
  let col = ((block - t * p.chunks) * WG + tid) * VEC;
  if (col >= p.hidden) { return; }
  let id = ids[t] - p.row0; // wraps past vocab for ids below row0
  let valid = id < p.vocab;
  if (!valid && p.skip_outside == 1u) { return; }
  let dst = t * p.hidden + col;
  if (VEC == 4u) {
    // hidden % 4 == 0, so col .. col + 3 are in the row and (id * hidden + col) / 4 is a whole weight4 index.
    var v = vec4<f32>(0.0);
    if (valid) { v = weight4((id * p.hidden + col) / 4u) * p.scale; }
    out[dst] = v.x;
    out[dst + 1u] = v.y;
    out[dst + 2u] = v.z;
    out[dst + 3u] = v.w;
  } else {
    var v = 0.0;
    if (valid) { v = weight(id * p.hidden + col) * p.scale; }
    out[dst] = v;
  }
}
