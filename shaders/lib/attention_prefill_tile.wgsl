// The FlashAttention tile of the prefill kernels (attention_prefill, paged_attention_prefill,
// plas_attention_prefill): tile shapes, workgroup memory, the pre-scaled query tile, per-row scoring of a K tile and
// the per-row online-softmax update and P V accumulation. Each kernel keeps how it finds the next K/V tile.
// Contract: the kernel declares `p: Params` with heads, group and scale_log2, `q: array<vec4<f32>>` (read) and
// `out: array<vec4<f32>>` (read_write), both [T, heads, D4]; its launcher sets the overrides D4, BQ, BK and TPR.
// A tile step (attend_tile_*) holds barriers: every thread of the workgroup calls it once per tile.

override D4: u32 = 16u; // head_dim / 4
override BQ: u32 = 32u; // query rows (folded t, g) per workgroup
override BK: u32 = 16u; // keys per tile
override TPR: u32 = 8u; // threads per query row
override WG: u32 = BQ * TPR;
override KS: u32 = D4 + 1u; // row stride of q_tile and k_tile, padded so rows start in different banks

// vec4 output columns per thread, ceil(D4 / TPR), is at most this (the launcher picks TPR so).
const MAX_COLS: u32 = 8u;
const NEG_BIG: f32 = -3.0e38;

var<workgroup> q_tile: array<vec4<f32>, BQ * KS>; // [BQ, KS], pre-scaled
var<workgroup> k_tile: array<vec4<f32>, BK * KS>; // [BK, KS]
var<workgroup> v_tile: array<vec4<f32>, BK * D4>; // [BK, D4]
var<workgroup> scores: array<f32, BQ * BK>; // [BQ, BK], base-2 logits

// One query row's online softmax, as seen by one of its TPR threads.
struct RowState {
  m: f32, // running max of the row's logits
  l: f32, // running sum of exp2(logit - m)
  acc: array<vec4<f32>, MAX_COLS>, // columns lane + i * TPR of the row's output, unnormalised
}

fn row_state() -> RowState {
  return RowState(NEG_BIG, 0.0, array<vec4<f32>, MAX_COLS>());
}

// vec4 offset in q and out of folded row `row` of kv head `kvh`, for the rows whose query 0 is q row `q0`.
fn query_offset(q0: u32, row: u32, kvh: u32) -> u32 {
  let t = row / p.group;
  let head = kvh * p.group + row % p.group;
  return ((q0 + t) * p.heads + head) * D4;
}

// Loads folded rows row0 ..< row0 + BQ (zeros at and past `rows`) into q_tile, pre-multiplied by scale * log2(e).
fn load_q_tile(tid: u32, q0: u32, row0: u32, rows: u32, kvh: u32) {
  for (var i = tid; i < BQ * D4; i += WG) {
    let r = i / D4;
    let c = i % D4;
    var value = vec4<f32>(0.0);
    if (row0 + r < rows) { value = q[query_offset(q0, row0 + r, kvh) + c] * p.scale_log2; }
    q_tile[r * KS + c] = value;
  }
}

// Row r's logits against the keys of k_tile: lane scores keys lane, lane + TPR, ...
fn score_row(r: u32, lane: u32) {
  for (var j = lane; j < BK; j += TPR) {
    var dot4 = vec4<f32>(0.0);
    for (var c = 0u; c < D4; c++) { dot4 = fma(q_tile[r * KS + c], k_tile[j * KS + c], dot4); }
    scores[r * BK + j] = dot4.x + dot4.y + dot4.z + dot4.w;
  }
}

// Moves the running max to max(m, tile_max), rescaling what was summed against the old max.
fn rescale_row(s: ptr<function, RowState>, tile_max: f32) {
  let m_new = max((*s).m, tile_max);
  let alpha = exp2((*s).m - m_new);
  (*s).l *= alpha;
  for (var i = 0u; i < MAX_COLS; i++) { (*s).acc[i] *= alpha; }
  (*s).m = m_new;
}

// Adds key j of the tile to row r's sum and this lane's columns of its output.
fn accumulate_key(s: ptr<function, RowState>, r: u32, lane: u32, j: u32) {
  let pj = exp2(scores[r * BK + j] - (*s).m);
  (*s).l += pj;
  for (var i = 0u; i < MAX_COLS; i++) {
    let c = lane + i * TPR;
    if (c < D4) { (*s).acc[i] = fma(vec4<f32>(pj), v_tile[j * D4 + c], (*s).acc[i]); }
  }
}

// One K/V tile (already stored, not yet behind a barrier) for row r, which sees the first n keys of the tile.
fn attend_tile_prefix(s: ptr<function, RowState>, r: u32, lane: u32, n: u32) {
  workgroupBarrier();
  score_row(r, lane);
  workgroupBarrier();
  if (n > 0u) {
    var tile_max = NEG_BIG;
    for (var j = 0u; j < n; j++) { tile_max = max(tile_max, scores[r * BK + j]); }
    rescale_row(s, tile_max);
    for (var j = 0u; j < n; j++) { accumulate_key(s, r, lane, j); }
  }
  workgroupBarrier(); // the next tile overwrites k_tile, v_tile and scores
}

// Writes this lane's columns of the row's normalised output at vec4 offset dst.
fn store_row(s: ptr<function, RowState>, dst: u32, lane: u32) {
  for (var i = 0u; i < MAX_COLS; i++) {
    let c = lane + i * TPR;
    if (c < D4) { out[dst + c] = (*s).acc[i] / (*s).l; }
  }
}
