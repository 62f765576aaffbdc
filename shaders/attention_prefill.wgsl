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
//   its last visible key. Workgroup memory: 16 * (BQ * (D4 + 1) + BK * (2 * D4 + 1)) + 4 * BQ * BK bytes.

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

override D4: u32 = 16u; // head_dim / 4
override BQ: u32 = 32u; // query rows (folded t, g) per workgroup
override BK: u32 = 32u; // keys per tile
override TPR: u32 = 8u; // threads per query row
override WG: u32 = BQ * TPR;
override KS: u32 = D4 + 1u; // row stride of q_tile and k_tile, padded so rows start in different banks

// vec4 output columns per thread, ceil(D4 / TPR), is at most this (the launcher picks TPR so).
const MAX_COLS: u32 = 8u;
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> q_tile: array<vec4<f32>, BQ * KS>; // [BQ, KS], pre-scaled
var<workgroup> k_tile: array<vec4<f32>, BK * KS>; // [BK, KS]
var<workgroup> v_tile: array<vec4<f32>, BK * D4>; // [BK, D4]
var<workgroup> scores: array<f32, BQ * BK>; // [BQ, BK], base-2 logits

// vec4 offset of row `row` (folded t, g) of kv head `kvh` in q and out.
fn query_offset(row: u32, kvh: u32) -> u32 {
  let t = row / p.group;
  let head = kvh * p.group + row % p.group;
  return (t * p.heads + head) * D4;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.q_tiles * p.kv_heads) { return; }
  let kvh = id % p.kv_heads;
  let row0 = (p.q_tiles - 1u - id / p.kv_heads) * BQ;
  let rows = p.query_len * p.group;

  for (var i = tid; i < BQ * D4; i += WG) {
    let r = i / D4;
    let c = i % D4;
    var value = vec4<f32>(0.0);
    if (row0 + r < rows) { value = q[query_offset(row0 + r, kvh) + c] * p.scale_log2; }
    q_tile[r * KS + c] = value;
  }

  let r = tid / TPR;
  let lane = tid % TPR;
  let row = row0 + r;
  let in_chunk = row < rows;
  // This row sees keys 0 ..< row_end; the workgroup visits keys up to its last row's position (causal skip).
  let row_end = select(0u, p.query_start + row / p.group + 1u, in_chunk);
  let kv_end = p.query_start + min(p.query_len - 1u, (row0 + BQ - 1u) / p.group) + 1u;

  var m = NEG_BIG; // running max of this row's logits
  var l = 0.0; // running sum of exp2(logit - m)
  var acc: array<vec4<f32>, MAX_COLS>; // columns lane + i * TPR of this row's output, unnormalised

  for (var key0 = 0u; key0 < kv_end; key0 += BK) {
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
    workgroupBarrier();

    for (var j = lane; j < BK; j += TPR) {
      var dot4 = vec4<f32>(0.0);
      for (var c = 0u; c < D4; c++) { dot4 = fma(q_tile[r * KS + c], k_tile[j * KS + c], dot4); }
      scores[r * BK + j] = dot4.x + dot4.y + dot4.z + dot4.w;
    }
    workgroupBarrier();

    // Keys key0 ..< key0 + n are visible to this row: the exact causal mask of the diagonal tile.
    let n = min(BK, row_end - min(row_end, key0));
    if (n > 0u) {
      var tile_max = NEG_BIG;
      for (var j = 0u; j < n; j++) { tile_max = max(tile_max, scores[r * BK + j]); }
      let m_new = max(m, tile_max);
      let alpha = exp2(m - m_new); // rescales what was summed against the old max
      l *= alpha;
      for (var i = 0u; i < MAX_COLS; i++) { acc[i] *= alpha; }
      for (var j = 0u; j < n; j++) {
        let pj = exp2(scores[r * BK + j] - m_new);
        l += pj;
        for (var i = 0u; i < MAX_COLS; i++) {
          let c = lane + i * TPR;
          if (c < D4) { acc[i] = fma(vec4<f32>(pj), v_tile[j * D4 + c], acc[i]); }
        }
      }
      m = m_new;
    }
    workgroupBarrier(); // the next tile overwrites k_tile, v_tile and scores
  }

  if (in_chunk) {
    let dst = query_offset(row, kvh);
    for (var i = 0u; i < MAX_COLS; i++) {
      let c = lane + i * TPR;
      if (c < D4) { out[dst + c] = acc[i] / l; }
    }
  }
}
