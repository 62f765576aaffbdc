// Paged decode attention, pass 1 of 2 (flash-decoding) for a batch: every sequence of the work list has one new token
// and reads its keys through its block table. Each workgroup attends the query heads of one GQA group (or a block of
// them) to one split of one sequence's keys and writes an unnormalised partial result; paged_attention_merge.wgsl
// combines the splits of each sequence with a log-sum-exp.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [T, heads, D]; 2 k_pool: KV dtype [num_pages, page_size, kv_heads, D]
//   (KvVec of lib/kv_f32.wgsl or lib/kv_f16.wgsl);
//   3 v_pool: same; 4 seqs: u32 [B, 4] (query_offset, num_queries, kv_length, table_offset); 5 block_tables: u32 [n];
//   6 items: u32 [num_items, 4] (seq, kv_start, kv_count, 0): split `item` of sequence `seq` reads visit keys
//   kv_start ..< kv_start + kv_count (clamped to kv_length); 7 partial_acc: f32 [num_items, heads, D];
//   8 partial_ml: f32 [num_items, heads, 2] (max, sum). Float data is read as vec4 / vec2.
// Workgroup: WG threads (override, >= HB * D4); thread g * D4 + c owns output column c (a vec4) of head g of the block.
//   Grid: num_items * kv_heads * head_blocks workgroups, folded into 2-D (id = wg.x + wg.y * grid_x); id names
//   (item, kv head, head block) with the head block fastest. Head block b of kv head kvh holds query heads
//   kvh * group + b * HB ..< + HB (fewer in the last block), so each K/V row is read once per block.
// Computes, for each head h of the block, over the keys j of its split (base-2 logits x_j = q[h] . k[j] * scale *
//   log2(e), the new token at row query_offset of q): partial_ml[item, h] = (m, l) with m = max_j x_j,
//   l = sum_j exp2(x_j - m), and partial_acc[item, h] = sum_j exp2(x_j - m) v[j]. An empty split writes (-3e38, 0)
//   and zeros.
// Per tile of TILE visit keys: look each key up in the block table and load K into workgroup memory, score every
//   (head, key) pair, then each owner thread updates its head's running max and sum and accumulates P V, reading V
//   straight from the pool (each element once per head; the pool rows of the tile are kept in tile_rows).
//   The tile itself is lib/attention_decode_tile.wgsl and lib/attention_decode_paged.wgsl.

struct Params {
  heads: u32,
  kv_heads: u32,
  group: u32,
  head_blocks: u32,
  page_size: u32,
  page_shift: u32,
  num_items: u32,
  scale_log2: f32,
  grid_x: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k_pool: array<KvVec>;
@group(0) @binding(3) var<storage, read> v_pool: array<KvVec>;
@group(0) @binding(4) var<storage, read> seqs: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> block_tables: array<u32>;
@group(0) @binding(6) var<storage, read> items: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> partial_acc: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> partial_ml: array<vec2<f32>>;

// ---- The KV visit: which keys a work item reads, and where they live in the pools ----
// A work item reads a run of visit keys u. Dense attention visits a sequence's keys in order, so u is the position.
// Block-sparse attention (PLAS) replaces visit_position() with a lookup in a per-(work item, kv head) sorted list of
// selected pages: position = (list[u >> page_shift] << page_shift) | (u & (page_size - 1)). Nothing else changes.
fn visit_position(u: u32) -> u32 {
  return u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  let per_item = p.kv_heads * p.head_blocks;
  if (id >= p.num_items * per_item) { return; }
  let item_index = id / per_item;
  let item = items[item_index]; // (seq, kv_start, kv_count, 0)
  let seq = seqs[item.x]; // (query_offset, num_queries, kv_length, table_offset)
  let kvh = (id % per_item) / p.head_blocks;
  let head0 = kvh * p.group + (id % p.head_blocks) * HB; // first query head of the block
  let block_heads = min(HB, (kvh + 1u) * p.group - head0);
  load_q_block(tid, (seq.x * p.heads + head0) * D4, block_heads);

  let g = tid / D4;
  let c = tid % D4;
  let owner = g < block_heads;
  var s = head_state();

  let kv_end = min(item.y + item.z, seq.z);
  for (var key0 = item.y; key0 < kv_end; key0 += TILE) {
    let n = min(TILE, kv_end - key0); // valid keys in this tile

    for (var i = tid; i < TILE * D4; i += WG) {
      let j = i / D4;
      var row = NO_ROW;
      if (j < n) { row = pool_row(seq.w, visit_position(key0 + j)); }
      fill_k_slot(j, i % D4, row, kvh);
    }
    attend_tile(&s, tid, owner, block_heads, n, key0, kvh);
  }

  if (owner) { write_partial(&s, item_index * p.heads + head0 + g, c); }
}
