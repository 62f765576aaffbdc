// Causal attention for a chunk of query rows of one sequence, grouped-query heads, contiguous KV cache:
// FlashAttention-style key tiles with an online softmax.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [T, heads, D]; 2 k: f32 [S, kv_heads, D]; 3 v: f32 [S, kv_heads, D];
//   4 out: f32 [T, heads, D]. All are read as vec4 (D = 4 * D4).
// Workgroup: WG = BQ * TPR threads (overrides), TPR threads per query row. One workgroup per (tile of BQ rows, kv head).
//   The rows of a tile fold the query heads of one GQA group: row = t * group + g is query position t of head
//   kv_head * group + g, so each K/V tile is loaded once for the whole group. Grid: q_tiles * kv_heads workgroups,
//   folded into 2-D (id = wg.x + wg.y * grid_x); the latest (longest) query tiles are scheduled first.
// Computes: out[t, h] = sum_j softmax_j(q[t, h] . k[j, kv_head] * scale) v[j, kv_head] over keys j <= query_start + t.
//   Scores are kept in base 2 (q is pre-multiplied by scale * log2(e)), so the softmax uses exp2.
// Per tile of BK keys: load K and V into workgroup memory; each thread scores BK / TPR keys of its row; then each
//   thread updates its row's running max and sum and accumulates P V into the vec4 columns it owns
//   (lane, lane + TPR, ...). Tiles wholly above the diagonal are never visited; the diagonal tile stops each row at
//   its last visible key. The tile itself is lib/attention_prefill_tile.wgsl. Workgroup memory:
//   16 * (BQ * (D4 + 1) + BK * (2 * D4 + 1)) + 4 * BQ * BK bytes.

struct Params {
  query_len: u32,
  heads: u32,
  kv_heads: u32,
  group: u32,
  query_start: u32,
  kv_length: u32,
  scale_log2: f32,
  q_tiles: u32,
  grid_x: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.q_tiles * p.kv_heads) { return; }
  let kvh = id % p.kv_heads;
  let row0 = (p.q_tiles - 1u - id / p.kv_heads) * BQ;
  let rows = p.query_len * p.group;
  load_q_tile(tid, 0u, row0, rows, kvh);

  let r = tid / TPR;
  let lane = tid % TPR;
  let row = row0 + r;
  let in_chunk = row < rows;
  // This row sees keys 0 ..< row_end; the workgroup visits keys up to its last row's position (causal skip).
  let row_end = select(0u, p.query_start + row / p.group + 1u, in_chunk);
  let kv_end = p.query_start + min(p.query_len - 1u, (row0 + BQ - 1u) / p.group) + 1u;

  var s = row_state();
  for (var key0 = 0u; key0 < kv_end; key0 += BK) {
    // Contiguous cache: the tile is keys key0 ..< key0 + BK.
    for (var i = tid; i < BK * D4; i += WG) {
      let j = i / D4;
      let c = i % D4;
      var kj = vec4<f32>(0.0);
      var vj = vec4<f32>(0.0);
      if (key0 + j < kv_end) {
        let src = ((key0 + j) * p.kv_heads + kvh) * D4 + c;
        kj = k[src];
        vj = v[src];
      }
      k_tile[j * KS + c] = kj;
      v_tile[j * D4 + c] = vj;
    }
    // Keys key0 ..< key0 + n are visible to this row: the exact causal mask of the diagonal tile.
    attend_tile_prefix(&s, r, lane, min(BK, row_end - min(row_end, key0)));
  }

  if (in_chunk) { store_row(&s, query_offset(0u, row, kvh), lane); }
}
