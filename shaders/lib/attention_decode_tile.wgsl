// The flash-decoding split tile of the decode kernels (attention_decode_split, paged_attention_decode,
// plas_attention_decode): tile shapes, workgroup memory, the pre-scaled query block, scoring of a K tile for every
// (head, key) pair, each owner thread's online-softmax update and P V accumulation, and the partial result write.
// Each kernel keeps how it finds the next K tile. Contract: the kernel declares `p: Params` with scale_log2,
// `q: array<vec4<f32>>` (read), `partial_acc: array<vec4<f32>>` and `partial_ml: array<vec2<f32>>` (read_write), and
// `fn tile_value(key0: u32, j: u32, kvh: u32, c: u32) -> vec4<f32>`: column c of the V row of key j of the tile that
// starts at visit key key0 (V is read straight from the cache, each element once per head). Its launcher sets the
// overrides D4, HB, TILE and WG. attend_tile holds barriers: every thread of the workgroup calls it once per tile.

override D4: u32 = 16u; // head_dim / 4
override HB: u32 = 8u; // query heads per workgroup
override TILE: u32 = 32u; // visit keys per tile
override WG: u32 = 128u; // threads, >= HB * D4
override KS: u32 = D4 + 1u; // row stride of k_tile, padded so rows start in different banks

const NEG_BIG: f32 = -3.0e38;

var<workgroup> q_block: array<vec4<f32>, HB * D4>; // [HB, D4], pre-scaled
var<workgroup> k_tile: array<vec4<f32>, TILE * KS>; // [TILE, KS]
var<workgroup> scores: array<f32, HB * TILE>; // [HB, TILE], base-2 logits

// One head's online softmax, as seen by the owner thread of one of its vec4 columns.
struct HeadState {
  m: f32, // running max of the head's logits
  l: f32, // running sum of exp2(logit - m)
  acc: vec4<f32>, // this thread's column of the head's output, unnormalised
}

fn head_state() -> HeadState {
  return HeadState(NEG_BIG, 0.0, vec4<f32>(0.0));
}

// Loads the block's heads (q[base ..< base + block_heads * D4], zeros past them), pre-multiplied by scale * log2(e).
fn load_q_block(tid: u32, base: u32, block_heads: u32) {
  for (var i = tid; i < HB * D4; i += WG) {
    var value = vec4<f32>(0.0);
    if (i / D4 < block_heads) { value = q[base + i] * p.scale_log2; }
    q_block[i] = value;
  }
}

// One K tile (already stored, not yet behind a barrier) of n valid keys: score every (head, key) pair, then owner
// thread (head g, column c) updates its head's running max and sum and accumulates P V.
fn attend_tile(s: ptr<function, HeadState>, tid: u32, owner: bool, block_heads: u32, n: u32, key0: u32, kvh: u32) {
  workgroupBarrier();
  for (var i = tid; i < HB * TILE; i += WG) {
    let hg = i / TILE;
    let j = i % TILE;
    if (hg < block_heads && j < n) {
      var dot4 = vec4<f32>(0.0);
      for (var d = 0u; d < D4; d++) { dot4 = fma(q_block[hg * D4 + d], k_tile[j * KS + d], dot4); }
      scores[i] = dot4.x + dot4.y + dot4.z + dot4.w;
    }
  }
  workgroupBarrier();

  if (owner) {
    let g = tid / D4;
    let c = tid % D4;
    var tile_max = NEG_BIG;
    for (var j = 0u; j < n; j++) { tile_max = max(tile_max, scores[g * TILE + j]); }
    let m_new = max((*s).m, tile_max);
    let alpha = exp2((*s).m - m_new); // rescales what was summed against the old max
    (*s).l *= alpha;
    (*s).acc *= alpha;
    for (var j = 0u; j < n; j++) {
      let pj = exp2(scores[g * TILE + j] - m_new);
      (*s).l += pj;
      (*s).acc = fma(vec4<f32>(pj), tile_value(key0, j, kvh, c), (*s).acc);
    }
    (*s).m = m_new;
  }
  workgroupBarrier(); // the next tile overwrites k_tile (and the kernel's per-key data) and scores
}

// Writes the owner thread's column of partial_acc[slot] and, from column 0, partial_ml[slot] = (max, sum).
fn write_partial(s: ptr<function, HeadState>, slot: u32, c: u32) {
  partial_acc[slot * D4 + c] = (*s).acc;
  if (c == 0u) { partial_ml[slot] = vec2<f32>((*s).m, (*s).l); }
}
