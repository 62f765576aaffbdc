// PLAS block selection: the approximate top-k of each row of gate scores, by binary search on a threshold (no sort).
//
// Bindings: 0 p: Params (uniform); 1 scores: f32 [scoreRows, heads, max_blocks] (plas_block_scores.wgsl);
//   2 seqs: u32 [B, 4] = (queryOffset, numQueries, kvLength, tableOffset); 3 items: u32 [items, 4] =
//   (seq, first_query, count, 0); 4 selection: u32 [totalTokens, heads, words]: bit b % 32 of word b / 32 of a row
//   is set when block b is kept. Every word of every row of the items is written (zeros included), so nothing stale
//   from an earlier step or layer survives; rows outside the items are not touched.
// Workgroup: WG threads (override) = RPW rows x TPR lanes (override TPR); lane l of a row owns the words l, l + TPR, ..
//   (32 blocks each). Grid: items x row_groups workgroups (row_groups = ceil(rows_per_item / RPW)), folded into 2-D
//   (id = wg.x + wg.y * grid_x). Row i of item it is token first_query + i / heads, head i % heads.
// Computes, for a query at position pos with nb = min(pos / block_size + 1, max_blocks) blocks and scores s[0 ..< nb]:
//   the candidates are blocks fb ..< nb, fb = 0, or under a sliding window (p.window > 0) the block of the first
//   position the query sees, (pos + 1 - window) / block_size: blocks wholly before the window are never kept. The
//   forced candidates are block 0 (attention sink), the query's own block nb - 1 and the one before it: always kept.
//   The search runs over a pool of candidates: all of them (p.refined == 0, the original rule) or the free ones, the
//   forced blocks out (p.refined == 1). pool <= right: keep every candidate. Otherwise lo = min s, hi = max s over the
//   pool; up to `iterations` steps (2 x iterations when refined): mid = (lo + hi) * 0.5, c = #(pool with s >= mid);
//   c < left -> hi = mid; c > right -> lo = mid; else stop (mid stays). Refined, a search that ends with c < left takes
//   lo as its threshold (the last that kept more than right). Keep the candidates with s >= the threshold, and the
//   forced ones.
// Lanes combine their min, max and counts with workgroup atomics (floats as order-preserving u32 keys); a row that has
//   stopped keeps its mid while the others iterate, so every barrier stays in uniform control flow. The three count
//   buffers rotate so one barrier per iteration suffices: counter it % 3 is added to, then read after the barrier, and
//   counter (it + 2) % 3, last read an iteration ago, is cleared for later.

struct Params {
  heads: u32,
  block_size: u32,
  max_blocks: u32,
  words: u32,
  row_base: u32,
  items: u32,
  left: u32,
  right: u32,
  iterations: u32,
  row_groups: u32,
  grid_x: u32,
  window: u32, // sliding window in positions (0: none)
  refined: u32, // 1: forced blocks out of the search, up to 2 x iterations, never below left; 0: the original rule
}

override TPR: u32 = 8u; // lanes per row, a power of two <= WG
override WG: u32 = 256u;
override RPW: u32 = WG / TPR; // rows per workgroup

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> seqs: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> items: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> selection: array<u32>;

var<workgroup> row_min: array<atomic<u32>, RPW>;
var<workgroup> row_max: array<atomic<u32>, RPW>;
var<workgroup> row_count: array<atomic<u32>, 3u * RPW>; // [3, RPW]

// Order-preserving map of f32 to u32: a < b <=> key(a) < key(b) (finite values).
fn key(f: f32) -> u32 {
  let bits = bitcast<u32>(f);
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

fn unkey(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// Block 0 (attention sink), the query's own block and the one before it: always kept.
fn is_forced(b: u32, nb: u32) -> bool {
  return b == 0u || b + 2u >= nb;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let id = wg.x + wg.y * p.grid_x;
  if (id >= p.items * p.row_groups) { return; }
  let item = items[id / p.row_groups];
  let r = tid / TPR;
  let lane = tid % TPR;
  let i = (id % p.row_groups) * RPW + r; // row of the item
  let valid = i < item.z * p.heads;
  let s = seqs[item.x];
  let t = item.y + i / p.heads;
  let head = i % p.heads;
  let qrow = s.x + t;
  var nb = 0u;
  var fb = 0u; // first candidate block
  if (valid) {
    let pos = s.z - s.y + t;
    nb = min(pos / p.block_size + 1u, p.max_blocks);
    if (p.window > 0u && pos + 1u > p.window) { fb = min((pos + 1u - p.window) / p.block_size, nb - 1u); }
  }
  let base = ((qrow - select(0u, p.row_base, valid)) * p.heads + head) * p.max_blocks;
  let words = (nb + 31u) / 32u;
  let refined = p.refined != 0u;
  // Forced candidates: the last two (own and previous), and block 0 when it is a candidate and not one of those.
  let forced_count = min(2u, nb - fb) + select(0u, 1u, fb == 0u && nb > 2u);
  let pool = nb - fb - select(0u, forced_count, refined);
  let search = pool > p.right;
  let steps = select(p.iterations, 2u * p.iterations, refined);

  if (lane == 0u) {
    atomicStore(&row_min[r], 0xffffffffu);
    atomicStore(&row_max[r], 0u);
    for (var c = 0u; c < 3u; c++) { atomicStore(&row_count[c * RPW + r], 0u); }
  }
  workgroupBarrier();
  if (search) {
    var lo = 3.0e38;
    var hi = -3.0e38;
    for (var w = lane; w < words; w += TPR) {
      for (var b = max(fb, w * 32u); b < min(nb, w * 32u + 32u); b++) {
        if (refined && is_forced(b, nb)) { continue; }
        lo = min(lo, scores[base + b]);
        hi = max(hi, scores[base + b]);
      }
    }
    atomicMin(&row_min[r], key(lo));
    atomicMax(&row_max[r], key(hi));
  }
  workgroupBarrier();
  var lo = unkey(atomicLoad(&row_min[r]));
  var hi = unkey(atomicLoad(&row_max[r]));
  var mid = -3.0e38; // keep everything unless the search runs
  var done = !search;
  var last = p.left; // the count at the last mid (in range until a search says otherwise)
  for (var it = 0u; it < steps; it++) { // `steps` is uniform: every barrier below is reached by every thread
    if (!done) { mid = (lo + hi) * 0.5; }
    var c = 0u;
    if (!done) {
      for (var w = lane; w < words; w += TPR) {
        for (var b = max(fb, w * 32u); b < min(nb, w * 32u + 32u); b++) {
          let counted = !(refined && is_forced(b, nb));
          c += select(0u, 1u, counted && scores[base + b] >= mid);
        }
      }
    }
    atomicAdd(&row_count[(it % 3u) * RPW + r], c);
    workgroupBarrier();
    let total = atomicLoad(&row_count[(it % 3u) * RPW + r]);
    if (lane == 0u) { atomicStore(&row_count[((it + 2u) % 3u) * RPW + r], 0u); }
    if (!done) {
      last = total;
      if (total < p.left) { hi = mid; } else if (total > p.right) { lo = mid; } else { done = true; }
    }
  }
  if (refined && search && last < p.left) { mid = lo; }

  if (!valid) { return; }
  let out = (qrow * p.heads + head) * p.words;
  for (var w = lane; w < p.words; w += TPR) {
    var bits = 0u;
    for (var b = max(fb, w * 32u); b < min(nb, w * 32u + 32u); b++) {
      if (is_forced(b, nb) || !search || scores[base + b] >= mid) { bits |= 1u << (b % 32u); }
    }
    selection[out + w] = bits;
  }
}
