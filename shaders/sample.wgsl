// On-GPU sampling: temperature, top-k, top-p, min-p and an inverse-CDF draw, without sorting the vocabulary. Only the
// token id is written. Needs sample_keys.wgsl, sample_u64.wgsl and sample_plan.wgsl (thread 0's decisions) prepended. The definition it implements step by step (rank order,
// integer masses q = floor(w * 2^32), the thresholds, the draw) is written out in engine/reference/sampling.ts.
//
// Bindings: 0 p: Params (uniform); 1 logits: f32 [rows, vocab]; 2 params: f32 [rows, 8] (layout in
//   engine/reference/sampling.ts: temperature, 1/temperature, top_k, top_p, min_p, random); 3 out: u32 [rows].
// Workgroup: WG = 256 threads per row. Grid: one workgroup per row, folded into 2-D (row = wg.x + wg.y * grid_x).
//
// How: every question the definition asks ("which token has rank k?", "where does the cumulative mass pass m?") is a
// find(). A pass over the row builds a 256-bin histogram of counts and masses (workgroup atomics; masses are 64-bit
// integers, so the sums do not depend on order), keyed by a digit that is monotone in rank: at level 0 the logit's
// distance below the max, (l_max - l) * 256 / (l_max - l_min); below that, the next bits of the rank key within the
// chosen bin (and, for a bin of equal logits, of the token index). Walking the bins locates the goal bin; once it
// holds <= CAP tokens it is collected, together with as many bins before it as fit, into workgroup memory and sorted
// (bitonic), and the exact token is found in the sorted window. Later finds (top-p after top-k, the draw after top-p)
// look for earlier ranks and usually land in the same window without another pass. The level-0 histogram is built once
// per row and kept. Typical cost: 3 passes over the row (max, histogram, collect) plus a sort of <= CAP tokens.

struct Params {
  rows: u32,
  vocab: u32,
  grid_x: u32,
}

const WG: u32 = 256u;
const BINS: u32 = 256u;
override CAP: u32 = 2048u; // window capacity: a power of two, a multiple of WG
const ALL: u32 = 0xffffffffu;

const KIND_COUNT: u32 = 0u; // goal = a rank
const KIND_MASS: u32 = 1u;  // goal = a cumulative mass

const ACT_HIST: u32 = 0u;    // histogram the bucket at the next level
const ACT_COLLECT: u32 = 1u; // gather and sort the window
const ACT_WALK: u32 = 2u;    // the goal is in the window: walk one thread's chunk of it
const ACT_DONE: u32 = 3u;

const STAGE_START: u32 = 0u;
const STAGE_TOP_K: u32 = 1u;
const STAGE_TOP_P: u32 = 2u;
const STAGE_DRAW: u32 = 3u;

// Row atomics.
const G_MAX_KEY: u32 = 0u;
const G_ARGMAX: u32 = 1u;
const G_MIN_KEY: u32 = 2u;
const G_COLLECTED: u32 = 3u;
const G_MINP_COUNT: u32 = 4u;
const G_MINP_LO: u32 = 5u;
const G_MINP_HI: u32 = 6u;

// The blackboard: written by thread 0 between passes, read by all after a barrier. What steers control flow around
// barriers (action, level0, sort_n) is read with workgroupUniformLoad, which makes it uniform.
struct Ctl {
  // row constants
  lmax: f32,
  inv_t: f32,
  s0: f32,
  flat_range: u32,
  min_p: f32,
  // the row's progress: kept-prefix lengths and masses after top-k and top-p
  stage: u32,
  level0: u32,
  n_k: u32,
  z_k: vec2<u32>,
  n_p: u32,
  z_p: vec2<u32>,
  // the current find
  kind: u32,
  goal: vec2<u32>,
  action: u32,
  // bucket to histogram: tokens whose (rank key, index) lies in [(klo, ilo), (khi, ihi)]; digit = (sub - dbase) >> shift
  // with sub = index when by_index, else the rank key
  klo: u32,
  ilo: u32,
  khi: u32,
  ihi: u32,
  by_index: u32,
  dbase: u32,
  shift: u32,
  above_count: u32,
  above_mass: vec2<u32>,
  // window: cand[0, win_count) sorted = ranks [win_rank0, win_rank0 + win_count), mass before it win_mass0
  win_valid: u32,
  win_count: u32,
  win_rank0: u32,
  win_mass0: vec2<u32>,
  win_mass: vec2<u32>,
  sort_n: u32,
  cklo: u32,
  cilo: u32,
  ckhi: u32,
  cihi: u32,
  // walk
  chunk: u32,
  chunk_count0: u32,
  chunk_mass0: vec2<u32>,
  // result of the last find: the token, and the count and mass of ranks up to and including it
  res_index: u32,
  res_count: u32,
  res_mass: vec2<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

// Histograms: bins [0, 256) are level 0 (kept for the row), [256, 512) the deeper level in progress.
var<workgroup> h_count: array<atomic<u32>, 512>;
var<workgroup> h_mass_lo: array<atomic<u32>, 512>;
var<workgroup> h_mass_hi: array<atomic<u32>, 512>;
var<workgroup> h_min: array<atomic<u32>, 512>;
var<workgroup> h_max: array<atomic<u32>, 512>;
var<workgroup> cand_key: array<u32, CAP>;
var<workgroup> cand_index: array<u32, CAP>;
var<workgroup> chunk_prefix: array<vec2<u32>, 257>; // exclusive prefix of per-thread chunk masses; [256] = total
var<workgroup> g: array<atomic<u32>, 8>;
var<workgroup> ctl: Ctl;

var<private> row_base: u32;
var<private> lmax: f32;
var<private> inv_t: f32;
var<private> s0: f32;
var<private> flat_range: bool;

// ---- weights and keys

// w = exp((l - l_max) / T) in [0, 1]; exactly 1 at l_max and 0 at -inf.
fn weight_of(l: f32) -> f32 {
  if (is_neg_inf(l)) { return 0.0; }
  let x = max((l - lmax) * inv_t, -200.0);
  if (x == 0.0) { return 1.0; }
  return exp(x);
}

fn quantize(w: f32) -> vec2<u32> {
  if (w >= 1.0) { return vec2<u32>(0u, 1u); }
  return vec2<u32>(u32(w * 4294967296.0), 0u);
}

fn mass_of_key(k: u32) -> vec2<u32> { return quantize(weight_of(rank_key_logit(k))); }

// Level-0 digit: monotone in rank, spread by value so that no bin draws all the atomics.
fn bin0(l: f32) -> u32 {
  if (flat_range) { return 0u; }
  if (is_neg_inf(l)) { return BINS - 1u; }
  return min(u32(max((lmax - l) * s0, 0.0)), BINS - 1u);
}

fn lex_le(ak: u32, ai: u32, bk: u32, bi: u32) -> bool { return ak < bk || (ak == bk && ai <= bi); }

fn in_range(k: u32, i: u32, klo: u32, ilo: u32, khi: u32, ihi: u32) -> bool {
  return lex_le(klo, ilo, k, i) && lex_le(k, i, khi, ihi);
}

fn shift_for(span: u32) -> u32 { return max(32u - countLeadingZeros(span), 8u) - 8u; }

fn next_pow2(n: u32) -> u32 { return select(1u << (32u - countLeadingZeros(n - 1u)), 1u, n <= 1u); }

// 64-bit atomic add as two 32-bit ones: the carry goes to the high word, so the total is exact in any order.
fn add_bin_mass(d: u32, m: vec2<u32>) {
  if (m.x != 0u) {
    let old = atomicAdd(&h_mass_lo[d], m.x);
    if (old + m.x < old) { atomicAdd(&h_mass_hi[d], 1u); }
  }
  if (m.y != 0u) { atomicAdd(&h_mass_hi[d], m.y); }
}

fn add_minp_mass(m: vec2<u32>) {
  if (m.x != 0u) {
    let old = atomicAdd(&g[G_MINP_LO], m.x);
    if (old + m.x < old) { atomicAdd(&g[G_MINP_HI], 1u); }
  }
  if (m.y != 0u) { atomicAdd(&g[G_MINP_HI], m.y); }
}

// ---- passes over the row (all threads)

// Histogram of the whole row (level 0, also counting min-p survivors) or of ctl's bucket (deeper levels).
fn hist_pass(tid: u32, level0: bool) {
  let off = select(BINS, 0u, level0);
  for (var b = tid; b < BINS; b = b + WG) {
    atomicStore(&h_count[off + b], 0u);
    atomicStore(&h_mass_lo[off + b], 0u);
    atomicStore(&h_mass_hi[off + b], 0u);
    atomicStore(&h_min[off + b], ALL);
    atomicStore(&h_max[off + b], 0u);
  }
  workgroupBarrier();
  var minp_count = 0u;
  var minp_mass = vec2<u32>(0u, 0u);
  let klo = ctl.klo;
  let ilo = ctl.ilo;
  let khi = ctl.khi;
  let ihi = ctl.ihi;
  let by_index = ctl.by_index != 0u;
  let dbase = ctl.dbase;
  let shift = ctl.shift;
  let min_p = ctl.min_p;
  for (var i = tid; i < p.vocab; i = i + WG) {
    let l = sanitize_logit(logits[row_base + i]);
    let k = rank_key(l);
    var d: u32;
    var sub = k;
    if (level0) {
      d = bin0(l);
    } else {
      if (!in_range(k, i, klo, ilo, khi, ihi)) { continue; }
      if (by_index) { sub = i; }
      d = BINS + ((sub - dbase) >> shift);
    }
    let w = weight_of(l);
    let q = quantize(w);
    if (level0 && w >= min_p) {
      minp_count = minp_count + 1u;
      minp_mass = add64(minp_mass, q);
    }
    atomicAdd(&h_count[d], 1u);
    add_bin_mass(d, q);
    atomicMin(&h_min[d], sub);
    atomicMax(&h_max[d], sub);
  }
  if (level0 && min_p > 0.0) {
    atomicAdd(&g[G_MINP_COUNT], minp_count);
    add_minp_mass(minp_mass);
  }
  workgroupBarrier();
}

// Gather the window's tokens, sort them by (rank key, index) and sum each thread's chunk of CAP / WG of them.
fn collect_pass(tid: u32, n: u32) {
  let cklo = ctl.cklo;
  let cilo = ctl.cilo;
  let ckhi = ctl.ckhi;
  let cihi = ctl.cihi;
  let count = ctl.win_count;
  for (var i = tid; i < p.vocab; i = i + WG) {
    let k = rank_key(sanitize_logit(logits[row_base + i]));
    if (in_range(k, i, cklo, cilo, ckhi, cihi)) {
      let slot = atomicAdd(&g[G_COLLECTED], 1u);
      if (slot < CAP) {
        cand_key[slot] = k;
        cand_index[slot] = i;
      }
    }
  }
  for (var j = count + tid; j < n; j = j + WG) {
    cand_key[j] = ALL;
    cand_index[j] = ALL;
  }
  workgroupBarrier();
  for (var size = 2u; size <= n; size = size << 1u) {
    for (var stride = size >> 1u; stride > 0u; stride = stride >> 1u) {
      for (var i = tid; i < n; i = i + WG) {
        let partner = i ^ stride;
        if (partner > i) {
          let ak = cand_key[i];
          let ai = cand_index[i];
          let bk = cand_key[partner];
          let bi = cand_index[partner];
          let a_after_b = ak > bk || (ak == bk && ai > bi);
          if (a_after_b == ((i & size) == 0u)) {
            cand_key[i] = bk;
            cand_index[i] = bi;
            cand_key[partner] = ak;
            cand_index[partner] = ai;
          }
        }
      }
      workgroupBarrier();
    }
  }
  let per = CAP / WG;
  var m = vec2<u32>(0u, 0u);
  for (var j = tid * per; j < min(tid * per + per, count); j = j + 1u) { m = add64(m, mass_of_key(cand_key[j])); }
  chunk_prefix[tid] = m;
  workgroupBarrier();
}

// The window holds the goal: the chunk owner walks its sorted tokens to the one where the count or mass passes it.
fn walk_pass(tid: u32) {
  if (tid != ctl.chunk) { return; }
  let per = CAP / WG;
  let kind = ctl.kind;
  let goal = ctl.goal;
  var count = ctl.chunk_count0;
  var mass = ctl.chunk_mass0;
  let end = min(tid * per + per, ctl.win_count);
  for (var j = tid * per; j < end; j = j + 1u) {
    count = count + 1u;
    mass = add64(mass, mass_of_key(cand_key[j]));
    let crossed = select(gt64(mass, goal), count > goal.x, kind == KIND_COUNT);
    if (crossed || j + 1u == end) {
      ctl.res_index = cand_index[j];
      ctl.res_count = count;
      ctl.res_mass = mass;
      return;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * p.grid_x;
  if (row >= p.rows) { return; }
  row_base = row * p.vocab;
  let pr = row * 8u;

  // Pass 1: max (lowest index on ties) and the smallest finite logit.
  if (tid == 0u) {
    atomicStore(&g[G_MAX_KEY], 0u);
    atomicStore(&g[G_ARGMAX], ALL);
    atomicStore(&g[G_MIN_KEY], ALL);
    atomicStore(&g[G_MINP_COUNT], 0u);
    atomicStore(&g[G_MINP_LO], 0u);
    atomicStore(&g[G_MINP_HI], 0u);
  }
  var best = 0u;
  var best_i = ALL;
  var low = ALL;
  for (var i = tid; i < p.vocab; i = i + WG) {
    let l = sanitize_logit(logits[row_base + i]);
    let k = order_key(l);
    if (k > best || best_i == ALL) {
      best = k;
      best_i = i;
    }
    if (!is_neg_inf(l)) { low = min(low, k); }
  }
  workgroupBarrier();
  atomicMax(&g[G_MAX_KEY], best);
  atomicMin(&g[G_MIN_KEY], low);
  workgroupBarrier();
  if (best_i != ALL && best == atomicLoad(&g[G_MAX_KEY])) { atomicMin(&g[G_ARGMAX], best_i); }
  workgroupBarrier();
  if (tid == 0u) {
    let top = rank_key_logit(~atomicLoad(&g[G_MAX_KEY]));
    ctl.res_index = atomicLoad(&g[G_ARGMAX]);
    ctl.lmax = top;
    ctl.inv_t = params[pr + 1u];
    ctl.min_p = params[pr + 4u];
    let low_key = atomicLoad(&g[G_MIN_KEY]);
    let bottom = select(rank_key_logit(~low_key), top, low_key == ALL);
    let range = top - bottom;
    let spread = (bitcast<u32>(range) & 0x7f800000u) != 0x7f800000u && range > 0.0;
    ctl.flat_range = select(1u, 0u, spread);
    ctl.s0 = select(0.0, f32(BINS) / range, spread);
    ctl.win_valid = 0u;
    ctl.level0 = 1u;
    ctl.stage = STAGE_START;
    // Greedy rows (temperature 0, or nothing but -inf) are done: the answer is the argmax.
    ctl.action = select(ACT_HIST, ACT_DONE, !(params[pr] > 0.0) || is_neg_inf(top));
  }
  workgroupBarrier();
  lmax = ctl.lmax;
  inv_t = ctl.inv_t;
  s0 = ctl.s0;
  flat_range = ctl.flat_range != 0u;

  // Pass 2 builds the level-0 histogram (kept for the row); then finds: top-k, top-p, the draw. Each step is one
  // pass by all threads, then thread 0 picks the next. Every pass has one call site: SwiftShader's cost per
  // invocation grows with the code around barriers.
  for (var guard = 0u; guard < 256u; guard = guard + 1u) {
    let action = workgroupUniformLoad(&ctl.action);
    if (action == ACT_DONE) { break; }
    if (action == ACT_HIST) {
      hist_pass(tid, workgroupUniformLoad(&ctl.level0) != 0u);
    } else if (action == ACT_COLLECT) {
      collect_pass(tid, workgroupUniformLoad(&ctl.sort_n));
    } else {
      walk_pass(tid);
    }
    workgroupBarrier();
    if (tid == 0u) { advance(pr, action); }
  }
  if (tid == 0u) { out[row] = ctl.res_index; }
}
