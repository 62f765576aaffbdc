// Log-probabilities for the OpenAI `logprobs` option: per row, log_softmax of the processed logits (after penalties,
// bias and grammar mask; before temperature, top-k, top-p, min-p) at the sampled token, and the top_n most likely
// tokens. Needs sample_keys.wgsl prepended: logits are sanitised (NaN -> -inf, +inf -> the largest f32) and ranked by
// their f32 bit patterns, then by lower id, exactly as argmax.wgsl and sample.wgsl rank them, so a greedy token is
// always top 1. The twin is engine/reference/logprobs.ts.
//
// Bindings: 0 p: Params (uniform); 1 logits: f32 [rows, vocab] (vocab <= 2^20); 2 sampled: u32 [rows];
//   3 out: u32 words [rows, 1 + 2 * top_n]: word 0 the sampled token's logprob (f32 bits; NaN when the id is
//   >= vocab), then top_n pairs (id, logprob as f32 bits), most likely first. Ranks >= vocab (top_n > vocab) are
//   filled with (0xffffffff, -inf). A -inf logit has logprob -inf, also in a row with no finite logit.
// Workgroup: WG threads (override, a power of two in [32, 256]) per row. Grid: one workgroup per row, folded into
//   2-D (row = wg.x + wg.y * grid_x).
//
// How, in one read of the row: each thread keeps an online (max, sum of exp) over its strided slice and its best
// M = 4 tokens in registers (past the first few elements a token costs one compare). A tree merges the (max, sum)
// pairs. A radix select over the threads' lists (<= 4 * WG candidates) finds the top_n of their union: 8 bits of the
// 52-bit key (order key, ~id) a round, histogramming the candidates under the prefix found so far, until the chosen
// bin is taken whole (about 3 rounds on real logits, at most 7). Keys are unique, so exactly min(top_n, vocab)
// candidates pass. That union's top_n is the row's unless a thread dropped tokens while all 4 of its own are among
// them (4 of the row's top 20 in one slice of ids equal mod WG: ~3e-4 of rows for iid logits; certain for adversarial
// ones). Only then do those threads re-read their slice keeping a sorted top_n (<= 20) in a private array (slow:
// dynamically indexed), and the select runs again: exact either way.

struct Params {
  rows: u32,
  vocab: u32,
  top_n: u32,
  grid_x: u32,
}

override WG: u32 = 256u;
const TOPN_MAX: u32 = 20u;
const M: u32 = 4u; // tokens each thread keeps in registers on the fast path
const BINS: u32 = 256u;
const LOWEST: f32 = -3.4028234663852886e38;
const NAN_BITS: u32 = 0x7fc00000u;
const NONE: u32 = 0xffffffffu;
const ID_BITS: u32 = 20u;
const ID_MASK: u32 = 0xfffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> sampled: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

var<workgroup> part_max: array<f32, WG>;
var<workgroup> part_sum: array<f32, WG>;
var<workgroup> hist: array<atomic<u32>, BINS>;
var<workgroup> group_sum: array<u32, 16>;
// The select's state, written by thread 0 between barriers: the threshold prefix (hi = order key, lo = (~id) << 12),
// the bits of it fixed so far, and how many candidates under the prefix are still to be taken.
var<workgroup> pre_hi: u32;
var<workgroup> pre_lo: u32;
var<workgroup> mask_hi: u32;
var<workgroup> mask_lo: u32;
var<workgroup> needed: u32;
var<workgroup> done: u32;
var<workgroup> overflow: atomic<u32>;
var<workgroup> rescan: u32;
var<workgroup> picked_count: atomic<u32>;
var<workgroup> picked_hi: array<u32, TOPN_MAX>;
var<workgroup> picked_lo: array<u32, TOPN_MAX>;

// This thread's candidates, descending by (key, lo): M from the registers, or top_n after a rescan.
var<private> cand_key: array<u32, TOPN_MAX>;
var<private> cand_lo: array<u32, TOPN_MAX>;
var<private> cand_n: u32;

// exp of a difference that is <= 0 (or -inf when it overflowed), without relying on inf arithmetic.
fn exp_le0(d: f32) -> f32 { return exp(max(d, -200.0)); }

fn lo_of(id: u32) -> u32 { return (~id & ID_MASK) << (32u - ID_BITS); }

fn id_of(lo: u32) -> u32 { return ~(lo >> (32u - ID_BITS)) & ID_MASK; }

// (key, id) ranks above (k2, id2): larger key, then lower id. An empty slot is (0, NONE): every real key is > 0.
fn beats(key: u32, id: u32, k2: u32, id2: u32) -> bool { return key > k2 || (key == k2 && id < id2); }

// Rescan path: insert into the sorted private list of n. Ids arrive in increasing order, so an equal key goes after.
fn offer(key: u32, id: u32, n: u32) {
  var pos = min(cand_n, n - 1u); // when full the last one drops out
  while (pos > 0u && cand_key[pos - 1u] < key) {
    cand_key[pos] = cand_key[pos - 1u];
    cand_lo[pos] = cand_lo[pos - 1u];
    pos = pos - 1u;
  }
  cand_key[pos] = key;
  cand_lo[pos] = lo_of(id);
  cand_n = min(cand_n + 1u, n);
}

// The 8-bit digit of (hi, lo) at round r (0 = most significant).
fn digit(hi: u32, lo: u32, r: u32) -> u32 {
  if (r < 4u) { return (hi >> (24u - 8u * r)) & 0xffu; }
  return (lo >> (24u - 8u * (r - 4u))) & 0xffu;
}

// Radix select over every thread's candidates: leaves in (pre_hi, pre_lo) a threshold that exactly `want` of them
// reach (want <= the number of candidates). Call from uniform control flow.
fn select_threshold(tid: u32, want: u32) {
  if (tid == 0u) {
    pre_hi = 0u;
    pre_lo = 0u;
    mask_hi = 0u;
    mask_lo = 0u;
    needed = want;
  }
  for (var r = 0u; r < 7u; r = r + 1u) {
    for (var b = tid; b < BINS; b = b + WG) { atomicStore(&hist[b], 0u); }
    workgroupBarrier();
    let ph = pre_hi;
    let pl = pre_lo;
    let mh = mask_hi;
    let ml = mask_lo;
    // Matching candidates are contiguous in the sorted list with non-increasing digits: one atomic per run.
    var run_digit = 0u;
    var run = 0u;
    for (var j = 0u; j < cand_n; j = j + 1u) {
      let hi = cand_key[j];
      let lo = cand_lo[j];
      if ((hi & mh) != ph || (lo & ml) != pl) { continue; }
      let d = digit(hi, lo, r);
      if (run > 0u && d != run_digit) {
        atomicAdd(&hist[run_digit], run);
        run = 0u;
      }
      run_digit = d;
      run = run + 1u;
    }
    if (run > 0u) { atomicAdd(&hist[run_digit], run); }
    workgroupBarrier();
    if (tid < 16u) {
      var sum = 0u;
      for (var b = 0u; b < 16u; b = b + 1u) { sum = sum + atomicLoad(&hist[tid * 16u + b]); }
      group_sum[tid] = sum;
    }
    workgroupBarrier();
    if (tid == 0u) {
      // From the top bin down, the first bin where the count reaches `needed`; bins above it are taken whole.
      let goal = needed;
      var above = 0u;
      var g = 15u;
      while (g > 0u && above + group_sum[g] < goal) {
        above = above + group_sum[g];
        g = g - 1u;
      }
      var bin = g * 16u + 15u;
      loop {
        let c = atomicLoad(&hist[bin]);
        if (above + c >= goal || bin == g * 16u) { break; }
        above = above + c;
        bin = bin - 1u;
      }
      let left = goal - above;
      if (r < 4u) {
        let shift = 24u - 8u * r;
        pre_hi = pre_hi | (bin << shift);
        mask_hi = mask_hi | (0xffu << shift);
      } else {
        let shift = 24u - 8u * (r - 4u);
        pre_lo = pre_lo | (bin << shift);
        mask_lo = mask_lo | (0xffu << shift);
      }
      needed = left;
      done = select(0u, 1u, atomicLoad(&hist[bin]) == left);
    }
    if (workgroupUniformLoad(&done) != 0u) { break; }
  }
}

fn reaches(hi: u32, lo: u32, th: u32, tl: u32) -> bool { return hi > th || (hi == th && lo >= tl); }

fn logprob(l: f32, row_max: f32, log_sum: f32) -> f32 {
  if (is_neg_inf(l)) { return l; }
  return (l - row_max) - log_sum;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * p.grid_x;
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  let n = p.top_n;

  // One pass over the row: online (max, sum) and the best M (key, id) in registers, descending.
  var m = LOWEST;
  var s = 0.0;
  var k0 = 0u;
  var k1 = 0u;
  var k2 = 0u;
  var k3 = 0u;
  var i0 = NONE;
  var i1 = NONE;
  var i2 = NONE;
  var i3 = NONE;
  for (var i = tid; i < p.vocab; i = i + WG) {
    let l = sanitize_logit(logits[base + i]);
    if (!is_neg_inf(l)) {
      if (l > m) {
        s = s * exp_le0(m - l);
        m = l;
      }
      s = s + exp_le0(l - m);
    }
    var key = order_key(l);
    if (n > 0u && key > k3) { // a later id never beats an equal key
      var id = i;
      // Carry the new entry down the list, swapping with every entry it beats; the last one drops out.
      if (beats(key, id, k0, i0)) { let tk = k0; k0 = key; key = tk; let ti = i0; i0 = id; id = ti; }
      if (beats(key, id, k1, i1)) { let tk = k1; k1 = key; key = tk; let ti = i1; i1 = id; id = ti; }
      if (beats(key, id, k2, i2)) { let tk = k2; k2 = key; key = tk; let ti = i2; i2 = id; id = ti; }
      if (beats(key, id, k3, i3)) { k3 = key; i3 = id; }
    }
  }
  part_max[tid] = m;
  part_sum[tid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (tid < stride) {
      let m2 = part_max[tid + stride];
      let mm = max(m, m2);
      s = s * exp_le0(m - mm) + part_sum[tid + stride] * exp_le0(m2 - mm);
      m = mm;
      part_max[tid] = m;
      part_sum[tid] = s;
    }
    workgroupBarrier();
  }
  let row_max = part_max[0];
  let log_sum = log(part_sum[0]); // >= 0 when any logit is finite; unused when none is (every logprob is -inf)
  let words = 1u + 2u * n;
  let out_base = row * words;
  if (tid == 0u) {
    let t = sampled[row];
    var word = NAN_BITS;
    if (t < p.vocab) { word = bitcast<u32>(logprob(sanitize_logit(logits[base + t]), row_max, log_sum)); }
    out[out_base] = word;
    atomicStore(&overflow, 0u);
    atomicStore(&picked_count, 0u);
  }
  if (n == 0u) { return; }

  let want = min(n, p.vocab);
  cand_key[0] = k0;
  cand_key[1] = k1;
  cand_key[2] = k2;
  cand_key[3] = k3;
  cand_lo[0] = lo_of(i0);
  cand_lo[1] = lo_of(i1);
  cand_lo[2] = lo_of(i2);
  cand_lo[3] = lo_of(i3);
  let slice = (p.vocab - min(tid, p.vocab) + WG - 1u) / WG; // tokens this thread saw
  cand_n = min(M, slice); // slots fill in order
  select_threshold(tid, want);

  // A thread that dropped tokens while its M-th is selected may have dropped some of the row's best: rescan those.
  // (With want <= M a thread's dropped tokens rank below M of its own, so none can be among the best want.)
  let dropped = want > M && slice > M && reaches(k3, lo_of(i3), pre_hi, pre_lo);
  if (dropped) { atomicStore(&overflow, 1u); }
  workgroupBarrier();
  if (tid == 0u) { rescan = atomicLoad(&overflow); }
  if (workgroupUniformLoad(&rescan) != 0u) {
    if (dropped) {
      cand_n = 0u;
      var kth = 0u;
      for (var i = tid; i < p.vocab; i = i + WG) {
        let key = order_key(sanitize_logit(logits[base + i]));
        if (cand_n < n || key > kth) {
          offer(key, i, n);
          kth = cand_key[n - 1u];
        }
      }
    }
    workgroupBarrier();
    select_threshold(tid, want);
  }

  // Exactly `want` candidates reach the threshold: gather them, then rank by counting.
  let th = pre_hi;
  let tl = pre_lo;
  for (var j = 0u; j < cand_n; j = j + 1u) {
    let hi = cand_key[j];
    let lo = cand_lo[j];
    if (!reaches(hi, lo, th, tl)) { break; } // sorted: the rest are below
    let slot = atomicAdd(&picked_count, 1u);
    if (slot < TOPN_MAX) {
      picked_hi[slot] = hi;
      picked_lo[slot] = lo;
    }
  }
  workgroupBarrier();
  let taken = min(atomicLoad(&picked_count), TOPN_MAX);
  if (tid < n) {
    var id = NONE;
    var lp = NEG_INF_BITS;
    var rank = tid;
    if (tid < taken) {
      let hi = picked_hi[tid];
      let lo = picked_lo[tid];
      rank = 0u;
      for (var k = 0u; k < taken; k = k + 1u) {
        let h2 = picked_hi[k];
        if (h2 > hi || (h2 == hi && picked_lo[k] > lo)) { rank = rank + 1u; }
      }
      id = id_of(lo);
      lp = bitcast<u32>(logprob(rank_key_logit(~hi), row_max, log_sum));
    }
    out[out_base + 1u + 2u * rank] = id;
    out[out_base + 2u + 2u * rank] = lp;
  }
}
