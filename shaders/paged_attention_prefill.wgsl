// Paged causal attention for the prefill chunks of a batch (sequences with several new tokens, starting at any
// position), grouped-query heads, keys read through each sequence's block table: FlashAttention-style key tiles with
// an online softmax.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [T, heads, D]; 2 k_pool: KV dtype [num_pages, page_size, kv_heads, D]
//   (KvVec of lib/kv_f32.wgsl or lib/kv_f16.wgsl);
//   3 v_pool: same; 4 seqs: u32 [B, 4] (query_offset, num_queries, kv_length, table_offset); 5 block_tables: u32 [n];
//   6 items: u32 [num_items, 4] (seq, row0, 0, 0): a tile of BQ folded rows of one sequence; 7 out: f32 [T, heads, D].
//   Float data is read as vec4 (D = 4 * D4).
// Workgroup: WG = BQ * TPR threads (overrides), TPR threads per query row. One workgroup per (item, kv head). The rows
//   of a sequence fold the query heads of one GQA group: row = t * group + g is its new token t (position
//   kv_length - num_queries + t, q/out row query_offset + t) of head kv_head * group + g, so each K/V tile is loaded
//   once for the whole group. Grid: num_items * kv_heads workgroups, folded into 2-D (id = wg.x + wg.y * grid_x, kv
//   head fastest); the launcher lists the items with the most keys first.
// Computes: out[t, h] = sum_j softmax_j(q[t, h] . k[j, kv_head] * scale) v[j, kv_head] over the keys j <= position of
//   t (and, with a sliding window W = p.window > 0, j > position - W: the last W positions). Scores are kept in
//   base 2 (q is pre-multiplied by scale * log2(e)), so the softmax uses exp2.
// Per tile of BK visit keys: look each key up in the block table and load K and V into workgroup memory; each thread
//   scores BK / TPR keys of its row; then each thread updates its row's running max and sum and accumulates P V into
//   the vec4 columns it owns (lane, lane + TPR, ...), skipping the keys its row may not see (tile_pos >= row_end).
//   Tiles wholly past the item's last row are never visited. The tile itself is lib/attention_prefill_tile.wgsl and
//   lib/attention_prefill_paged.wgsl. Workgroup memory: 16 * (BQ * (D4 + 1) + BK * (2 * D4 + 1)) + 4 * BQ * BK +
//   4 * BK bytes.

struct Params {
  heads: u32,
  kv_heads: u32,
  group: u32,
  page_size: u32,
  page_shift: u32,
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
@group(0) @binding(6) var<storage, read> items: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;

// ---- The KV visit: which keys a work item reads, and where they live in the pools ----
// A work item reads a run of visit keys u. Dense attention visits a sequence's keys in order, so u is the position.
// Block-sparse attention (PLAS) replaces visit_position() with a lookup in a per-(work item, kv head) sorted list of
// selected pages: position = (list[u >> page_shift] << page_shift) | (u & (page_size - 1)). Nothing else changes:
// the causal mask compares positions, so it holds for any visit.
fn visit_position(u: u32) -> u32 {
  return u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.num_items * p.kv_heads) { return; }
  let item = items[id / p.kv_heads]; // (seq, row0, 0, 0)
  let seq = seqs[item.x]; // (query_offset, num_queries, kv_length, table_offset)
  let kvh = id % p.kv_heads;
  let row0 = item.y;
  let rows = seq.y * p.group;
  let query_start = seq.z - seq.y; // position of new token 0
  load_q_tile(tid, seq.x, row0, rows, kvh);

  let r = tid / TPR;
  let lane = tid % TPR;
  let row = row0 + r;
  let in_chunk = row < rows;
  // This row sees positions row_begin ..< row_end; the workgroup visits keys from its first row's window start up
  // to its last row's position (causal skip, and the keys before every row's window skipped).
  let row_pos = query_start + row / p.group;
  let row_begin = window_start(row_pos);
  let row_end = select(0u, row_pos + 1u, in_chunk);
  let kv_begin = window_start(query_start + row0 / p.group);
  let kv_end = query_start + min(seq.y - 1u, (row0 + BQ - 1u) / p.group) + 1u;

  var s = row_state();
  for (var key0 = kv_begin; key0 < kv_end; key0 += BK) {
    for (var i = tid; i < BK * D4; i += WG) {
      let j = i / D4;
      var pos = NO_KEY;
      if (key0 + j < kv_end) { pos = visit_position(key0 + j); }
      fill_kv_slot(j, i % D4, pos, seq.w, kvh);
    }
    attend_tile_masked(&s, r, lane, row_begin, row_end);
  }

  if (in_chunk) { store_row(&s, query_offset(seq.x, row, kvh), lane); }
}
