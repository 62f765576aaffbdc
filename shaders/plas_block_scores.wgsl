// PLAS gate scores: for every query of the work items and every query head, the score of each causal candidate KV
// block, s[b] = q . Kc[kv_head, b], where Kc is the block's compressed key built from the per-page key sums; or, with
// `summary` 2, the key bound (Quest's): the largest q . k any key of the block could reach, from per-page key extremes;
// or, with `summary` 3, the learned gate in key-bound form: learned per-channel weights on those extremes.
//
// Bindings: 0 p: Params (uniform); 1 q: f32 [totalTokens, heads, D]; 2 key_sums: f32 [numPages, kv_heads, D];
//   3 seqs: u32 [B, 4] = (queryOffset, numQueries, kvLength, tableOffset); 4 block_tables: u32 [...] (page ids);
//   5 items: u32 [items, 4] = (seq, first_query, count, 0): the new tokens first_query ..< + count of sequence seq;
//   6 scores: f32 [scoreRows, heads, max_blocks]: query row r (queryOffset + token) lands in row r - row_base.
//   q and key_sums are read as vec4 (D = 4 * d4). With summary 2, key_sums is key_bounds f32 [numPages, kv_heads, 2, D]
//   (per page: the keys' per-channel max, then min; plas_key_sums.wgsl main_bounds).
//   7 bound_gate: f32 [kv_heads, 4, D], read with summary 3 only (the launcher binds another read-only buffer in its
//   place otherwise): per KV head and channel the weights (G0, G1, G2, G3) of q's positive and negative parts.
// Workgroup: TR x TB = 8 x 8 = 64 threads; one workgroup per (item, kv head, tile of BK = TB * BT blocks), folded into 2-D
//   (id = wg.x + wg.y * grid_x; block tile fastest, then kv head, then item). The item's rows, folded (query, head of
//   the GQA group) as row = t * group + g, pass in tiles of BQ = TR * RT rows. Thread (tr, tb) = (tid / TB, tid % TB)
//   computes the RT x BT = 4 x 4 scores of rows tr + i * TR and blocks tb + j * TB of the tile (interleaved, so
//   neighbouring threads write neighbouring blocks), in registers: per vec4 of D it loads RT + BT vec4s for RT * BT
//   dot products. A thread skips rows past the item's (decode items have only `group` rows).
// Computes: a query at position pos (= kvLength - numQueries + token) has candidate blocks b = 0 ..= pos / block_size.
//   Kc[b] = sum of the key sums of the block's pages (those below ceil(kvLength / page_size)), divided by the tokens
//   present in the block, min(block_size, kvLength - b * block_size), when `summary` is 1 (mean pooling; 0: a learned
//   gate's weighted sum, as it is). scores[row, head, b] = q[row, head] . Kc[b] for candidate b, and -3e38 for b past
//   the row's candidates (< max_blocks).
//   Summary 2: bound[b] = sum_d max(q_d * M_d, q_d * m_d) >= q . k for every key k of the block, where M and m are the
//   max and min over the block's pages' extremes. Since that term is q_d * M_d where q_d > 0 and q_d * m_d elsewhere,
//   it is the dot product of (max(q, 0), min(q, 0)) with (M, m): the same tiled dot product over 2 * D.
//   Summary 3: s[b] = sum_d (G0 q+ + G1 q-)_d M_d + (G2 q+ + G3 q-)_d m_d, q+ = max(q, 0), q- = min(q, 0): the same dot
//   product with q's two halves weighted as they are loaded (G = (1, 0, 0, 1) is summary 2; tools/train/distil_gate.py
//   --form bound learns G).
// D passes through workgroup memory in chunks of DC vec4s (q and Kc of the tile), so the memory, 16 * (BQ + BK) *
//   (DC + 1) bytes, does not depend on D and neither does the pipeline.

struct Params {
  heads: u32,
  kv_heads: u32,
  group: u32,
  d4: u32,
  page_size: u32,
  block_size: u32,
  ratio: u32,
  max_blocks: u32,
  row_base: u32,
  items: u32,
  block_tiles: u32,
  summary: u32, // 0: learned-gate sums, 1: mean pooling, 2: key bounds, 3: key bounds weighted by a learned gate
  grid_x: u32,
}

const RT: u32 = 4u; // rows per thread
const BT: u32 = 4u; // blocks per thread
const TR: u32 = 8u; // thread rows
const TB: u32 = 8u; // thread block columns
const WG: u32 = 64u; // TR * TB
const BQ: u32 = 32u; // TR * RT rows per row tile
const BK: u32 = 32u; // TB * BT blocks per workgroup
const DC: u32 = 8u; // vec4s of D per chunk
const DS: u32 = 9u; // DC + 1: padded row stride of the tiles

const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> key_sums: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> seqs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> block_tables: array<u32>;
@group(0) @binding(5) var<storage, read> items: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> scores: array<f32>;
@group(0) @binding(7) var<storage, read> bound_gate: array<vec4<f32>>;

var<workgroup> q_tile: array<vec4<f32>, BQ * DS>; // [BQ, DS]: rows of the row tile, one chunk of D
var<workgroup> kc_tile: array<vec4<f32>, BK * DS>; // [BK, DS]: compressed keys of the block tile, same chunk

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.items * p.kv_heads * p.block_tiles) { return; }
  let b0 = (id % p.block_tiles) * BK;
  let kvh = (id / p.block_tiles) % p.kv_heads;
  let item = items[id / (p.block_tiles * p.kv_heads)];
  let s = seqs[item.x];
  let first_pos = s.z - s.y; // position of the sequence's new token 0
  let rows = item.z * p.group;
  let nb_max = (first_pos + item.y + item.z - 1u) / p.block_size + 1u; // the item's last query sees the most
  let tr = tid / TB;
  let tb = tid % TB;

  if (b0 >= nb_max) {
    // No row of the item sees these blocks: only the padding to write.
    for (var i = tid; i < rows * BK; i += WG) {
      let row = i / BK;
      let b = b0 + i % BK;
      let qrow = s.x + item.y + row / p.group;
      let head = kvh * p.group + row % p.group;
      if (b < p.max_blocks) { scores[((qrow - p.row_base) * p.heads + head) * p.max_blocks + b] = NEG_BIG; }
    }
    return;
  }

  let pages = (s.z + p.page_size - 1u) / p.page_size;
  let bound = p.summary >= 2u;
  let kd4 = select(p.d4, 2u * p.d4, bound); // vec4s of a block summary (and of a query as it is scored)
  for (var row0 = 0u; row0 < rows; row0 += BQ) {
    var acc: array<array<f32, BT>, RT>;
    let rows_left = rows - row0;
    var my_rows = 0u; // rows tr + i * TR (i < my_rows) of this tile exist
    if (tr < rows_left) { my_rows = min(RT, (rows_left - tr + TR - 1u) / TR); }
    for (var c0 = 0u; c0 < kd4; c0 += DC) {
      workgroupBarrier(); // the previous chunk's tiles are no longer read
      for (var i = tid; i < BQ * DC; i += WG) {
        let r = row0 + i / DC;
        let c = c0 + i % DC;
        var value = vec4<f32>(0.0);
        if (r < rows && c < kd4) {
          let qrow = s.x + item.y + r / p.group;
          let head = kvh * p.group + r % p.group;
          let qd = q[(qrow * p.heads + head) * p.d4 + c % p.d4];
          value = qd;
          if (bound) {
            let pos = max(qd, vec4<f32>(0.0));
            let neg = min(qd, vec4<f32>(0.0));
            if (p.summary == 3u) {
              // The M half takes (G0, G1), the m half (G2, G3): rows kvh * 4 + 0 .. 3 of the gate.
              let g = (kvh * 4u + select(2u, 0u, c < p.d4)) * p.d4 + c % p.d4;
              value = bound_gate[g] * pos + bound_gate[g + p.d4] * neg;
            } else {
              value = select(neg, pos, c < p.d4);
            }
          }
        }
        q_tile[(i / DC) * DS + i % DC] = value;
      }
      for (var i = tid; i < BK * DC; i += WG) {
        let blk = b0 + i / DC;
        let c = c0 + i % DC;
        var kc = vec4<f32>(0.0);
        if (blk < nb_max && c < kd4) {
          let page_end = min((blk + 1u) * p.ratio, pages);
          let first = blk * p.ratio; // < pages: the block is a candidate of some row
          kc = key_sums[(block_tables[s.w + first] * p.kv_heads + kvh) * kd4 + c];
          for (var pg = first + 1u; pg < page_end; pg++) {
            let x = key_sums[(block_tables[s.w + pg] * p.kv_heads + kvh) * kd4 + c];
            if (!bound) { kc += x; } else if (c < p.d4) { kc = max(kc, x); } else { kc = min(kc, x); }
          }
          if (p.summary == 1u) { kc /= f32(min(p.block_size, s.z - blk * p.block_size)); }
        }
        kc_tile[(i / DC) * DS + i % DC] = kc;
      }
      workgroupBarrier();
      for (var d = 0u; d < DC; d++) {
        var a: array<vec4<f32>, RT>;
        for (var i = 0u; i < my_rows; i++) { a[i] = q_tile[(tr + i * TR) * DS + d]; }
        for (var j = 0u; j < BT; j++) {
          let kc = kc_tile[(tb + j * TB) * DS + d];
          for (var i = 0u; i < my_rows; i++) { acc[i][j] += dot(a[i], kc); }
        }
      }
    }

    for (var i = 0u; i < my_rows; i++) {
      let row = row0 + tr + i * TR;
      let t = item.y + row / p.group;
      let head = kvh * p.group + row % p.group;
      let nb = (first_pos + t) / p.block_size + 1u;
      let out = ((s.x + t - p.row_base) * p.heads + head) * p.max_blocks;
      for (var j = 0u; j < BT; j++) {
        let b = b0 + tb + j * TB;
        if (b < p.max_blocks) { scores[out + b] = select(NEG_BIG, acc[i][j], b < nb); }
      }
    }
  }
}
