// PLAS block-sparse decode attention, pass 1 of 2 (flash-decoding): paged_attention_decode.wgsl with the KV visit
// replaced by the blocks plas_union.wgsl listed for the sequence's unit and kv head (the union over the query heads of
// the GQA group, so each selected block is read once per group). paged_attention_merge.wgsl then combines the splits.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [T, heads, D]; 2 k_pool: f32 [num_pages, page_size, kv_heads, D];
//   3 v_pool: same; 4 seqs: u32 [B, 4] (query_offset, num_queries, kv_length, table_offset); 5 block_tables: u32 [n];
//   6 units: u32 [U, 4] (seq, first_query, count, dense) of decoding sequences (count 1, first_query 0);
//   7 items: u32 [num_items, 4] (unit, split, num_splits, 0); 8 lists: u32 [U, kv_heads, max_blocks];
//   9 counts: u32 [U, kv_heads]; 10 partial_acc: f32 [num_items, heads, D]; 11 partial_ml: f32 [num_items, heads, 2]
//   (max, sum). Float data is read as vec4 / vec2.
// Workgroup: WG threads (override, >= HB * D4); thread g * D4 + c owns output column c (a vec4) of head g of the block.
//   Grid: num_items * kv_heads * head_blocks workgroups, folded into 2-D (id = wg.x + wg.y * grid_x), head block
//   fastest, then kv head. Head block b of kv head kvh holds query heads kvh * group + b * HB ..< + HB.
// Computes, for each head h of the block, over the keys j its split visits (base-2 logits x_j = q[h] . k[j] * scale *
//   log2(e)): partial_ml[item, h] = (m, l), m = max_j x_j, l = sum_j exp2(x_j - m); partial_acc[item, h] =
//   sum_j exp2(x_j - m) v[j]. An empty split writes (-3e38, 0) and zeros.
// The visit: the n listed blocks of (unit, kv head) are cut into num_splits runs of ceil(n / num_splits) blocks (the
//   count is only known on the GPU). Visit key u is position (list[u >> block_shift] << block_shift) |
//   (u & (block_size - 1)); the list is sorted and only its last block can reach past the query's position, so the
//   keys a query sees are the first `total` visit keys. Per tile of TILE visit keys as in the dense kernel.

struct Params {
  heads: u32,
  kv_heads: u32,
  group: u32,
  head_blocks: u32,
  page_size: u32,
  page_shift: u32,
  block_shift: u32,
  max_blocks: u32,
  num_items: u32,
  scale_log2: f32,
  grid_x: u32,
}

override D4: u32 = 16u; // head_dim / 4
override HB: u32 = 8u; // query heads per workgroup
override TILE: u32 = 32u; // visit keys per tile
override WG: u32 = 128u; // threads, >= HB * D4
override KS: u32 = D4 + 1u; // row stride of k_tile, padded so rows start in different banks

const NEG_BIG: f32 = -3.0e38;

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
@group(0) @binding(10) var<storage, read_write> partial_acc: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read_write> partial_ml: array<vec2<f32>>;

var<workgroup> q_block: array<vec4<f32>, HB * D4>; // [HB, D4], pre-scaled
var<workgroup> k_tile: array<vec4<f32>, TILE * KS>; // [TILE, KS]
var<workgroup> scores: array<f32, HB * TILE>; // [HB, TILE], base-2 logits
var<workgroup> tile_rows: array<u32, TILE>; // pool row (page * page_size + slot) of each key of the tile

// Pool row (page * page_size + slot) of position `pos` of the sequence whose block table starts at `table_offset`.
fn pool_row(table_offset: u32, pos: u32) -> u32 {
  let page = block_tables[table_offset + (pos >> p.page_shift)];
  return (page << p.page_shift) | (pos & (p.page_size - 1u));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  let per_item = p.kv_heads * p.head_blocks;
  if (id >= p.num_items * per_item) { return; }
  let item_index = id / per_item;
  let item = items[item_index]; // (unit, split, num_splits, 0)
  let unit = units[item.x];
  let seq = seqs[unit.x]; // (query_offset, num_queries, kv_length, table_offset)
  let kvh = (id % per_item) / p.head_blocks;
  let head0 = kvh * p.group + (id % p.head_blocks) * HB; // first query head of the block
  let block_heads = min(HB, (kvh + 1u) * p.group - head0);
  let q_row = seq.x + unit.y;
  let pos_end = seq.z - seq.y + unit.y + 1u; // the query sees positions 0 ..< pos_end
  let list = (item.x * p.kv_heads + kvh) * p.max_blocks;
  let block_mask = (1u << p.block_shift) - 1u;

  // This split's run of listed blocks, and the visit keys the query sees.
  let n = counts[item.x * p.kv_heads + kvh];
  let per = (n + item.z - 1u) / item.z;
  var total = 0u;
  if (n > 0u) { total = min(n << p.block_shift, ((n - 1u) << p.block_shift) + pos_end - (lists[list + n - 1u] << p.block_shift)); }
  let visit_begin = min(item.y * per, n) << p.block_shift;
  let visit_end = min(min((item.y + 1u) * per, n) << p.block_shift, total);

  for (var i = tid; i < HB * D4; i += WG) {
    var value = vec4<f32>(0.0);
    if (i / D4 < block_heads) { value = q[(q_row * p.heads + head0) * D4 + i] * p.scale_log2; }
    q_block[i] = value;
  }

  let g = tid / D4;
  let c = tid % D4;
  let owner = g < block_heads;
  var m = NEG_BIG; // running max of head g's logits
  var l = 0.0; // running sum of exp2(logit - m)
  var acc = vec4<f32>(0.0); // column c of head g, unnormalised

  for (var key0 = visit_begin; key0 < visit_end; key0 += TILE) {
    let nk = min(TILE, visit_end - key0); // valid keys in this tile

    for (var i = tid; i < TILE * D4; i += WG) {
      let j = i / D4;
      let d = i % D4;
      var kj = vec4<f32>(0.0);
      if (j < nk) {
        let u = key0 + j;
        let row = pool_row(seq.w, (lists[list + (u >> p.block_shift)] << p.block_shift) | (u & block_mask));
        kj = k_pool[(row * p.kv_heads + kvh) * D4 + d];
        if (d == 0u) { tile_rows[j] = row; }
      }
      k_tile[j * KS + d] = kj;
    }
    workgroupBarrier();

    for (var i = tid; i < HB * TILE; i += WG) {
      let hg = i / TILE;
      let j = i % TILE;
      if (hg < block_heads && j < nk) {
        var dot4 = vec4<f32>(0.0);
        for (var d = 0u; d < D4; d++) { dot4 = fma(q_block[hg * D4 + d], k_tile[j * KS + d], dot4); }
        scores[i] = dot4.x + dot4.y + dot4.z + dot4.w;
      }
    }
    workgroupBarrier();

    if (owner) {
      var tile_max = NEG_BIG;
      for (var j = 0u; j < nk; j++) { tile_max = max(tile_max, scores[g * TILE + j]); }
      let m_new = max(m, tile_max);
      let alpha = exp2(m - m_new); // rescales what was summed against the old max
      l *= alpha;
      acc *= alpha;
      for (var j = 0u; j < nk; j++) {
        let pj = exp2(scores[g * TILE + j] - m_new);
        l += pj;
        acc = fma(vec4<f32>(pj), v_pool[(tile_rows[j] * p.kv_heads + kvh) * D4 + c], acc);
      }
      m = m_new;
    }
    workgroupBarrier(); // the next tile overwrites k_tile, tile_rows and scores
  }

  if (owner) {
    let slot = item_index * p.heads + head0 + g;
    partial_acc[slot * D4 + c] = acc;
    if (c == 0u) { partial_ml[slot] = vec2<f32>(m, l); }
  }
}
