// The paged prefill tile (paged_attention_prefill, plas_attention_prefill), on top of attention_prefill_tile.wgsl and
// paged_kv.wgsl: K/V slots loaded through the block table with the position of each key kept in tile_pos, and the
// per-row update that masks by position (any visit order: the causal mask compares positions).
// Contract: the kernel declares `k_pool`, `v_pool: array<KvVec>` (lib/kv_*.wgsl) [num_pages, page_size, kv_heads, D4]
// and `p: Params` with kv_heads and window (0: none; else a query at position t sees keys t - window < j <= t).

const NO_KEY: u32 = 0xffffffffu; // tile_pos of a tile slot no row sees

var<workgroup> tile_pos: array<u32, BK>; // position of each key of the tile, NO_KEY when no row sees it

// Stores column c of tile slot j: the key at position `pos` (zeros for NO_KEY) of kv head kvh of the sequence whose
// block table starts at `table_offset`.
fn fill_kv_slot(j: u32, c: u32, pos: u32, table_offset: u32, kvh: u32) {
  var kj = vec4<f32>(0.0);
  var vj = vec4<f32>(0.0);
  if (pos != NO_KEY) {
    let src = (pool_row(table_offset, pos) * p.kv_heads + kvh) * D4 + c;
    kj = kv_load(k_pool[src]);
    vj = kv_load(v_pool[src]);
  }
  k_tile[j * KS + c] = kj;
  v_tile[j * D4 + c] = vj;
  if (c == 0u) { tile_pos[j] = pos; }
}

// First position a query at `pos` sees: pos + 1 - window under a sliding window (p.window > 0), else 0.
fn window_start(pos: u32) -> u32 {
  if (p.window == 0u || pos < p.window) { return 0u; }
  return pos + 1u - p.window;
}

// One K/V tile (already stored, not yet behind a barrier) for row r, which sees positions row_begin ..< row_end.
fn attend_tile_masked(s: ptr<function, RowState>, r: u32, lane: u32, row_begin: u32, row_end: u32) {
  workgroupBarrier();
  score_row(r, lane);
  workgroupBarrier();
  var tile_max = NEG_BIG;
  var seen = false; // this row sees a key of this tile
  for (var j = 0u; j < BK; j++) {
    if (tile_pos[j] < row_end && tile_pos[j] >= row_begin) {
      tile_max = max(tile_max, scores[r * BK + j]);
      seen = true;
    }
  }
  if (seen) {
    rescale_row(s, tile_max);
    for (var j = 0u; j < BK; j++) {
      if (tile_pos[j] < row_end && tile_pos[j] >= row_begin) { accumulate_key(s, r, lane, j); }
    }
  }
  workgroupBarrier(); // the next tile overwrites k_tile, v_tile, tile_pos and scores
}
