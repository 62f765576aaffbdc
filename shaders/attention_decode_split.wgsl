// Decode attention, pass 1 of 2 (flash-decoding): one new token per sequence, grouped-query heads, contiguous KV
// cache. Each workgroup attends one block of query heads of one GQA group to one split of the keys and writes an
// unnormalised partial result; attention_decode_merge.wgsl combines the splits with a log-sum-exp.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [1, heads, D]; 2 k: f32 [S, kv_heads, D]; 3 v: f32 [S, kv_heads, D];
//   4 partial_acc: f32 [heads, splits, D]; 5 partial_ml: f32 [heads, splits, 2] (max, sum). Read as vec4 / vec2.
// Workgroup: WG threads (override, >= HB * D4); thread g * D4 + c owns output column c (a vec4) of head g of the block.
//   Grid: (kv_heads * head_blocks, splits); head block b of kv head kvh holds query heads
//   kvh * group + b * HB ..< + HB (fewer in the last block), so each K/V row is read once per block.
// Computes, for each head h of the block, over the keys j of its split (base-2 logits x_j = q[h] . k[j] * scale *
//   log2(e)): partial_ml[h, split] = (m, l) with m = max_j x_j, l = sum_j exp2(x_j - m), and
//   partial_acc[h, split] = sum_j exp2(x_j - m) v[j]. An empty split writes (-3e38, 0) and zeros.
// Keys are visited as a list of tiles of TILE positions: split s takes tiles s * tiles_per_split ..< + tiles_per_split.
//   tile_first_key() maps a tile to its first position (a paged cache or a block-sparse selection replaces it). Per
//   tile: load K into workgroup memory, score every (head, key) pair, then each owner thread updates its head's
//   running max and sum and accumulates P V, reading V straight from the cache (each element once per head).
//   The tile itself is lib/attention_decode_tile.wgsl.

struct Params {
  heads: u32,
  kv_heads: u32,
  group: u32,
  head_blocks: u32,
  kv_length: u32,
  splits: u32,
  tiles_per_split: u32,
  scale_log2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> partial_acc: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> partial_ml: array<vec2<f32>>;

// First key position of KV tile `tile`. Contiguous cache: tiles are consecutive runs of TILE positions.
fn tile_first_key(tile: u32) -> u32 {
  return tile * TILE;
}

// Column c of the V row of key j of the tile starting at key0: contiguous, so the row is the position.
fn tile_value(key0: u32, j: u32, kvh: u32, c: u32) -> vec4<f32> {
  return v[((key0 + j) * p.kv_heads + kvh) * D4 + c];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let kvh = wg.x / p.head_blocks;
  let head0 = kvh * p.group + (wg.x % p.head_blocks) * HB; // first query head of the block
  let block_heads = min(HB, (kvh + 1u) * p.group - head0);
  let split = wg.y;
  load_q_block(tid, head0 * D4, block_heads);

  let g = tid / D4;
  let c = tid % D4;
  let owner = g < block_heads;
  var s = head_state();

  let num_tiles = (p.kv_length + TILE - 1u) / TILE;
  let tile_begin = min(split * p.tiles_per_split, num_tiles);
  let tile_end = min(tile_begin + p.tiles_per_split, num_tiles);
  for (var tile = tile_begin; tile < tile_end; tile++) {
    let key0 = tile_first_key(tile);
    let n = min(TILE, p.kv_length - key0); // valid keys in this tile

    for (var i = tid; i < TILE * D4; i += WG) {
      let j = i / D4;
      var kj = vec4<f32>(0.0);
      if (j < n) { kj = k[((key0 + j) * p.kv_heads + kvh) * D4 + i % D4]; }
      k_tile[j * KS + i % D4] = kj;
    }
    attend_tile(&s, tid, owner, block_heads, n, key0, kvh);
  }

  if (owner) { write_partial(&s, (head0 + g) * p.splits + split, c); }
}
