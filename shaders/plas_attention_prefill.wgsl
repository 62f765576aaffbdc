// PLAS block-sparse causal attention for the prefill tiles of a batch: paged_attention_prefill.wgsl with the KV visit
// replaced by the blocks plas_union.wgsl listed for the tile's unit and kv head.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [T, heads, D]; 2 k_pool: KV dtype [num_pages, page_size, kv_heads, D]
//   (KvVec of lib/kv_f32.wgsl or lib/kv_f16.wgsl);
//   3 v_pool: same; 4 seqs: u32 [B, 4] (query_offset, num_queries, kv_length, table_offset); 5 block_tables: u32 [n];
//   6 units: u32 [U, 4] (seq, first_query, count, dense); 7 items: u32 [num_items, 4] (unit, row0, 0, 0): a tile of BQ
//   folded rows of one unit; 8 lists: u32 [U, kv_heads, max_blocks] (sorted block ids); 9 counts: u32 [U, kv_heads];
//   10 out: f32 [T, heads, D]. Float data is read as vec4 (D = 4 * D4).
// Workgroup: WG = BQ * TPR threads (overrides), TPR threads per query row. One workgroup per (item, kv head), folded
//   into 2-D (id = wg.x + wg.y * grid_x, kv head fastest). Row = t * group + g of a unit is its query
//   first_query + t (position kv_length - num_queries + first_query + t) of head kv_head * group + g.
// Computes: out[t, h] = sum_j softmax_j(q[t, h] . k[j, kv_head] * scale) v[j, kv_head] over the keys j of the listed
//   blocks with j <= position of t (the exact causal mask, also inside the diagonal block), and with a sliding window
//   W = p.window > 0 only j > position - W (listed blocks wholly before the tile's first window are skipped, a block
//   straddling a row's window is masked per position). Base-2 logits and exp2.
// The visit: visit key u is position (list[u >> block_shift] << block_shift) | (u & (block_size - 1)); a workgroup
//   visits count * block_size keys in tiles of BK, skipping (NO_KEY) those past its last row's position, which also
//   keeps it off block-table entries past the sequence's pages. Per tile as in the dense kernel (the shared tile is
//   lib/attention_prefill_tile.wgsl and lib/attention_prefill_paged.wgsl): look keys up, load K and V, score, online
//   softmax over the keys each row sees. Every row sees block 0, so its sum is never 0.
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
@group(0) @binding(10) var<storage, read_write> out: array<vec4<f32>>;

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
  load_q_tile(tid, q0, row0, rows, kvh);

  let r = tid / TPR;
  let lane = tid % TPR;
  let row = row0 + r;
  let in_unit = row < rows;
  // This row sees positions row_begin ..< row_end; the workgroup reads no key at or past pos_end (its last row's),
  // nor before pos_begin (its first row's window start).
  let row_pos = query_start + row / p.group;
  let row_begin = window_start(row_pos);
  let row_end = select(0u, row_pos + 1u, in_unit);
  let pos_begin = window_start(query_start + row0 / p.group);
  let pos_end = query_start + min(unit.z - 1u, (row0 + BQ - 1u) / p.group) + 1u;
  let block_mask = (1u << p.block_shift) - 1u;
  let n = counts[item.x * p.kv_heads + kvh];
  let visit_end = n << p.block_shift;
  // The sorted list's blocks that end at or before pos_begin are wholly outside every row's window: skip them.
  var first = 0u;
  if (pos_begin > 0u) {
    while (first < n && ((lists[list + first] + 1u) << p.block_shift) <= pos_begin) { first++; }
  }

  var s = row_state();
  for (var key0 = first << p.block_shift; key0 < visit_end; key0 += BK) {
    for (var i = tid; i < BK * D4; i += WG) {
      let j = i / D4;
      let u = key0 + j;
      var pos = NO_KEY;
      if (u < visit_end) {
        let at = (lists[list + (u >> p.block_shift)] << p.block_shift) | (u & block_mask);
        if (at < pos_end && at >= pos_begin) { pos = at; }
      }
      fill_kv_slot(j, i % D4, pos, seq.w, kvh);
    }
    attend_tile_masked(&s, r, lane, row_begin, row_end);
  }

  if (in_unit) { store_row(&s, query_offset(q0, row, kvh), lane); }
}
