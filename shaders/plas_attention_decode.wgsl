// PLAS block-sparse decode attention, pass 1 of 2 (flash-decoding): paged_attention_decode.wgsl with the KV visit
// replaced by the blocks plas_union.wgsl listed for the sequence's unit and kv head (the union over the query heads of
// the GQA group, so each selected block is read once per group). paged_attention_merge.wgsl then combines the splits.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [T, heads, D]; 2 k_pool: KV dtype [num_pages, page_size, kv_heads, D]
//   (KvVec of lib/kv_f32.wgsl or lib/kv_f16.wgsl);
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
//   keys a query sees are the first `total` visit keys. With a sliding window W = p.window > 0 the query sees only
//   positions > its position - W: those are the visit keys from `visit_lo` on (the list is sorted, so the keys before
//   the window are a prefix of the visit), and a split's run is clamped to start there (a split wholly before it is
//   empty). Per tile of TILE visit keys as in the dense kernel.
//   The tile itself is lib/attention_decode_tile.wgsl and lib/attention_decode_paged.wgsl.

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
  window: u32, // sliding window in positions (0: none)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k_pool: array<KvVec>;
@group(0) @binding(3) var<storage, read> v_pool: array<KvVec>;
@group(0) @binding(4) var<storage, read> seqs: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> block_tables: array<u32>;
@group(0) @binding(6) var<storage, read> units: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read> items: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read> lists: array<u32>;
@group(0) @binding(9) var<storage, read> counts: array<u32>;
@group(0) @binding(10) var<storage, read_write> partial_acc: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read_write> partial_ml: array<vec2<f32>>;

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
  // The first visit key inside the window: skip the listed blocks that end at or before its start, then the positions
  // of the straddling block before it.
  var visit_lo = 0u;
  if (p.window > 0u && pos_end > p.window) {
    let lo = pos_end - p.window;
    var i = 0u;
    while (i < n && ((lists[list + i] + 1u) << p.block_shift) <= lo) { i++; }
    visit_lo = i << p.block_shift;
    if (i < n) { visit_lo += lo - min(lo, lists[list + i] << p.block_shift); }
  }
  let visit_begin = max(min(item.y * per, n) << p.block_shift, visit_lo);
  let visit_end = min(min((item.y + 1u) * per, n) << p.block_shift, total);
  load_q_block(tid, (q_row * p.heads + head0) * D4, block_heads);

  let g = tid / D4;
  let c = tid % D4;
  let owner = g < block_heads;
  var s = head_state();

  for (var key0 = visit_begin; key0 < visit_end; key0 += TILE) {
    let nk = min(TILE, visit_end - key0); // valid keys in this tile

    for (var i = tid; i < TILE * D4; i += WG) {
      let j = i / D4;
      var row = NO_ROW;
      if (j < nk) {
        let u = key0 + j;
        row = pool_row(seq.w, (lists[list + (u >> p.block_shift)] << p.block_shift) | (u & block_mask));
      }
      fill_k_slot(j, i % D4, row, kvh);
    }
    attend_tile(&s, tid, owner, block_heads, nk, key0, kvh);
  }

  if (owner) { write_partial(&s, item_index * p.heads + head0 + g, c); }
}
