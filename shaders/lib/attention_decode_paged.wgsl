// The paged decode tile (paged_attention_decode, plas_attention_decode), on top of attention_decode_tile.wgsl and
// paged_kv.wgsl: K slots loaded from the pool with the pool row of each key kept in tile_rows, from which
// tile_value() reads V. Contract: the kernel declares `k_pool`, `v_pool: array<KvVec>` (lib/kv_*.wgsl)
// [num_pages, page_size, kv_heads, D4] and `p: Params` with kv_heads.

const NO_ROW: u32 = 0xffffffffu; // a tile slot past the split's keys

var<workgroup> tile_rows: array<u32, TILE>; // pool row (page * page_size + slot) of each key of the tile

// Stores column d of tile slot j: pool row `row` of kv head kvh (zeros for NO_ROW).
fn fill_k_slot(j: u32, d: u32, row: u32, kvh: u32) {
  var kj = vec4<f32>(0.0);
  if (row != NO_ROW) {
    kj = kv_load(k_pool[(row * p.kv_heads + kvh) * D4 + d]);
    if (d == 0u) { tile_rows[j] = row; }
  }
  k_tile[j * KS + d] = kj;
}

fn tile_value(key0: u32, j: u32, kvh: u32, c: u32) -> vec4<f32> {
  return kv_load(v_pool[(tile_rows[j] * p.kv_heads + kvh) * D4 + c]);
}
