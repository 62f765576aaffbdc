// PLAS block-sparse causal attention for the prefill tiles of a batch: paged_attention_prefill.wgsl with the KV visit
// replaced by the blocks plas_union.wgsl listed for the tile's unit and kv head.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [T, heads, D]; 2 k_pool: f32 [num_pages, page_size, kv_heads, D];
//   3 v_pool: same; 4 seqs: u32 [B, 4] (query_offset, num_queries, kv_length, table_offset); 5 block_tables: u32 [n];
//   6 units: u32 [U, 4] (seq, first_query, count, dense); 7 items: u32 [num_items, 4] (unit, row0, 0, 0): a tile of BQ
//   folded rows of one unit; 8 lists: u32 [U, kv_heads, max_blocks] (sorted block ids); 9 counts: u32 [U, kv_heads];
//   10 out: f32 [T, heads, D]. Float data is read as vec4 (D = 4 * D4).
// Workgroup: WG = BQ * TPR threads (overrides), TPR threads per query row. One workgroup per (item, kv head), folded
//   into 2-D (id = wg.x + wg.y * grid_x, kv head fastest). Row = t * group + g of a unit is its query
//   first_query + t (position kv_length - num_queries + first_query + t) of head kv_head * group + g.
// Computes: out[t, h] = sum_j softmax_j(q[t, h] . k[j, kv_head] * scale) v[j, kv_head] over the keys j of the listed
//   blocks with j <= position of t (the exact causal mask, also inside the diagonal block). Base-2 logits and exp2.
// The visit: visit key u is position (list[u >> block_shift] << block_shift) | (u & (block_size - 1)); a workgroup
//   visits count * block_size keys in tiles of BK, skipping (NO_KEY) those past its last row's position, which also
//   keeps it off block-table entries past the sequence's pages. Per tile as in the dense kernel: look keys up, load K
//   and V, score, online softmax over the keys each row sees. Every row sees block 0, so its sum is never 0.
//   Workgroup memory: 16 * (BQ * (D4 + 1) + BK * (2 * D4 + 1)) + 4 * BQ * BK + 4 * BK bytes.

struct Params {
  heads: u32,
  kv_heads: u32,
  group: u32,
  page_size: u32,
  page_shift: u32,
  block_shift: u32,
  max_blocks: u32,
  num_items: u32,
  scale_log2: f32,
  grid_x: u32,
}

override D4: u32 = 16u; // head_dim / 4
override BQ: u32 = 32u; // query rows (folded t, g) per workgroup
override BK: u32 = 16u; // keys per tile
override TPR: u32 = 8u; // threads per query row
override WG: u32 = BQ * TPR;
override KS: u32 = D4 + 1u; // row stride of q_tile and k_tile, padded so rows start in different banks

// vec4 output columns per thread, ceil(D4 / TPR), is at most this (the launcher picks TPR so).
const MAX_COLS: u32 = 8u;
const NEG_BIG: f32 = -3.0e38;
const NO_KEY: u32 = 0xffffffffu; // tile_pos of a tile slot no row sees

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k_pool: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v_pool: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> seqs: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> block_tables: array<u32>;
@group(0) @binding(6) var<storage, read> units: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read> items: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read> lists: array<u32>;
@group(0) @binding(9) var<storage, read> counts: array<u32>;
@group(0) @binding(10) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> q_tile: array<vec4<f32>, BQ * KS>; // [BQ, KS], pre-scaled
var<workgroup> k_tile: array<vec4<f32>, BK * KS>; // [BK, KS]
var<workgroup> v_tile: array<vec4<f32>, BK * D4>; // [BK, D4]
var<workgroup> scores: array<f32, BQ * BK>; // [BQ, BK], base-2 logits
var<workgroup> tile_pos: array<u32, BK>; // position of each key of the tile, NO_KEY when no row sees it

// Pool row (page * page_size + slot) of position `pos` of the sequence whose block table starts at `table_offset`.
fn pool_row(table_offset: u32, pos: u32) -> u32 {
  let page = block_tables[table_offset + (pos >> p.page_shift)];
  return (page << p.page_shift) | (pos & (p.page_size - 1u));
}

// vec4 offset in q and out of folded row `row` of kv head `kvh` of the unit whose first query is q row `q0`.
fn query_offset(q0: u32, row: u32, kvh: u32) -> u32 {
  let t = row / p.group;
  let head = kvh * p.group + row % p.group;
  return ((q0 + t) * p.heads + head) * D4;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.num_items * p.kv_heads) { return; }
  let item = items[id / p.kv_heads]; // (unit, row0, 0, 0)
  let unit = units[item.x]; // (seq, first_query, count, dense)
  let seq = seqs[unit.x]; // (query_offset, num_queries, kv_length, table_offset)
  let kvh = id % p.kv_heads;
  let list = (item.x * p.kv_heads + kvh) * p.max_blocks;
  let row0 = item.y;
  let rows = unit.z * p.group;
  let q0 = seq.x + unit.y; // q row of the unit's first query
  let query_start = seq.z - seq.y + unit.y; // its position

  for (var i = tid; i < BQ * D4; i += WG) {
    let r = i / D4;
    let c = i % D4;
    var value = vec4<f32>(0.0);
    if (row0 + r < rows) { value = q[query_offset(q0, row0 + r, kvh) + c] * p.scale_log2; }
    q_tile[r * KS + c] = value;
  }

  let r = tid / TPR;
  let lane = tid % TPR;
  let row = row0 + r;
  let in_unit = row < rows;
  // This row sees positions 0 ..< row_end; the workgroup reads no key at or past pos_end (its last row's).
  let row_end = select(0u, query_start + row / p.group + 1u, in_unit);
  let pos_end = query_start + min(unit.z - 1u, (row0 + BQ - 1u) / p.group) + 1u;
  let block_mask = (1u << p.block_shift) - 1u;
  let visit_end = counts[item.x * p.kv_heads + kvh] << p.block_shift;

  var m = NEG_BIG; // running max of this row's logits
  var l = 0.0; // running sum of exp2(logit - m)
  var acc: array<vec4<f32>, MAX_COLS>; // columns lane + i * TPR of this row's output, unnormalised

  for (var key0 = 0u; key0 < visit_end; key0 += BK) {
    for (var i = tid; i < BK * D4; i += WG) {
      let j = i / D4;
      let c = i % D4;
      let u = key0 + j;
      var kj = vec4<f32>(0.0);
      var vj = vec4<f32>(0.0);
      var pos = NO_KEY;
      if (u < visit_end) {
        let at = (lists[list + (u >> p.block_shift)] << p.block_shift) | (u & block_mask);
        if (at < pos_end) {
          pos = at;
          let src = (pool_row(seq.w, pos) * p.kv_heads + kvh) * D4 + c;
          kj = k_pool[src];
          vj = v_pool[src];
        }
      }
      k_tile[j * KS + c] = kj;
      v_tile[j * D4 + c] = vj;
      if (c == 0u) { tile_pos[j] = pos; }
    }
    workgroupBarrier();

    for (var j = lane; j < BK; j += TPR) {
      var dot4 = vec4<f32>(0.0);
      for (var c = 0u; c < D4; c++) { dot4 = fma(q_tile[r * KS + c], k_tile[j * KS + c], dot4); }
      scores[r * BK + j] = dot4.x + dot4.y + dot4.z + dot4.w;
    }
    workgroupBarrier();

    var tile_max = NEG_BIG;
    var seen = false; // this row sees a key of this tile
    for (var j = 0u; j < BK; j++) {
      if (tile_pos[j] < row_end) {
        tile_max = max(tile_max, scores[r * BK + j]);
        seen = true;
      }
    }
    if (seen) {
      let m_new = max(m, tile_max);
      let alpha = exp2(m - m_new); // rescales what was summed against the old max
      l *= alpha;
      for (var i = 0u; i < MAX_COLS; i++) { acc[i] *= alpha; }
      for (var j = 0u; j < BK; j++) {
        if (tile_pos[j] >= row_end) { continue; }
        let pj = exp2(scores[r * BK + j] - m_new);
        l += pj;
        for (var i = 0u; i < MAX_COLS; i++) {
          let c = lane + i * TPR;
          if (c < D4) { acc[i] = fma(vec4<f32>(pj), v_tile[j * D4 + c], acc[i]); }
        }
      }
      m = m_new;
    }
    workgroupBarrier(); // the next tile overwrites k_tile, v_tile, tile_pos and scores
  }

  if (in_unit) {
    let dst = query_offset(q0, row, kvh);
    for (var i = 0u; i < MAX_COLS; i++) {
      let c = lane + i * TPR;
      if (c < D4) { out[dst + c] = acc[i] / l; }
    }
  }
}
