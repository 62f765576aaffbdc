// Thread 0's decisions for sample.wgsl (prepended as a library; it uses sample.wgsl's workgroup variables): where the
// goal of a find lies in a histogram, which window to collect, and the row's stages (top-k, top-p, draw). None of
// this code has barriers; the passes in sample.wgsl run between its steps.

// Walk the bins of a histogram to the one holding the goal; then either choose a window to collect or narrow into
// that bin for another pass.
fn plan(off: u32) {
  let kind = ctl.kind;
  let goal = ctl.goal;
  var cc = select(ctl.above_count, 0u, off == 0u);
  var cm = select(ctl.above_mass, vec2<u32>(0u, 0u), off == 0u);
  var t = BINS;
  var last = 0u;
  var last_c = cc;
  var last_m = cm;
  for (var d = 0u; d < BINS; d = d + 1u) {
    let n = atomicLoad(&h_count[off + d]);
    if (n == 0u) { continue; }
    let nm = add64(cm, vec2<u32>(atomicLoad(&h_mass_lo[off + d]), atomicLoad(&h_mass_hi[off + d])));
    let crossed = select(gt64(nm, goal), cc + n > goal.x, kind == KIND_COUNT);
    if (crossed) {
      t = d;
      break;
    }
    last = d;
    last_c = cc;
    last_m = cm;
    cc = cc + n;
    cm = nm;
  }
  if (t == BINS) { // unreachable with exact sums; fall back to the last non-empty bin
    t = last;
    cc = last_c;
    cm = last_m;
  }
  let nt = atomicLoad(&h_count[off + t]);
  let by_index = off != 0u && ctl.by_index != 0u;
  if (nt <= CAP) {
    var s = t;
    var total = nt;
    var sc = cc;
    var sm = cm;
    loop {
      // Later finds look at earlier ranks, so widen the window backwards; the draw is the last find.
      if (s == 0u || ctl.stage == STAGE_DRAW) { break; }
      let n = atomicLoad(&h_count[off + s - 1u]);
      if (total + n > CAP) { break; }
      s = s - 1u;
      total = total + n;
      sc = sc - n;
      sm = sub64(sm, vec2<u32>(atomicLoad(&h_mass_lo[off + s]), atomicLoad(&h_mass_hi[off + s])));
    }
    var first_bin = s;
    loop {
      if (atomicLoad(&h_count[off + first_bin]) != 0u) { break; }
      first_bin = first_bin + 1u;
    }
    if (by_index) {
      ctl.cklo = ctl.klo;
      ctl.ckhi = ctl.klo;
      ctl.cilo = atomicLoad(&h_min[off + first_bin]);
      ctl.cihi = atomicLoad(&h_max[off + t]);
    } else {
      ctl.cklo = atomicLoad(&h_min[off + first_bin]);
      ctl.ckhi = atomicLoad(&h_max[off + t]);
      ctl.cilo = 0u;
      ctl.cihi = ALL;
    }
    ctl.win_valid = 0u;
    ctl.win_count = total;
    ctl.win_rank0 = sc;
    ctl.win_mass0 = sm;
    ctl.sort_n = next_pow2(total);
    atomicStore(&g[G_COLLECTED], 0u);
    ctl.action = ACT_COLLECT;
    return;
  }
  let lo = atomicLoad(&h_min[off + t]);
  let hi = atomicLoad(&h_max[off + t]);
  ctl.above_count = cc;
  ctl.above_mass = cm;
  if (by_index) { // indices lo..hi of the one rank key ctl.klo
    ctl.ilo = lo;
    ctl.ihi = hi;
    ctl.dbase = lo;
    ctl.shift = shift_for(hi - lo);
  } else if (lo == hi) { // one logit value: order the tie by index
    ctl.klo = lo;
    ctl.khi = lo;
    ctl.ilo = 0u;
    ctl.ihi = p.vocab - 1u;
    ctl.by_index = 1u;
    ctl.dbase = 0u;
    ctl.shift = shift_for(p.vocab - 1u);
  } else {
    ctl.klo = lo;
    ctl.khi = hi;
    ctl.ilo = 0u;
    ctl.ihi = ALL;
    ctl.by_index = 0u;
    ctl.dbase = lo;
    ctl.shift = shift_for(hi - lo);
  }
  ctl.action = ACT_HIST;
}

fn window_holds(kind: u32, goal: vec2<u32>) -> bool {
  if (ctl.win_valid == 0u) { return false; }
  if (kind == KIND_COUNT) { return goal.x >= ctl.win_rank0 && goal.x - ctl.win_rank0 < ctl.win_count; }
  return !gt64(ctl.win_mass0, goal) && gt64(add64(ctl.win_mass0, ctl.win_mass), goal);
}

// The goal is in the window: pick the chunk (CAP / WG sorted tokens) that holds it.
fn locate_in_window() {
  let per = CAP / WG;
  var c = 0u;
  if (ctl.kind == KIND_COUNT) {
    c = (ctl.goal.x - ctl.win_rank0) / per;
  } else {
    let rel = sub64(ctl.goal, ctl.win_mass0);
    loop {
      if (c + 1u >= WG || gt64(chunk_prefix[c + 1u], rel)) { break; }
      c = c + 1u;
    }
  }
  ctl.chunk = c;
  ctl.chunk_count0 = ctl.win_rank0 + c * per;
  ctl.chunk_mass0 = add64(ctl.win_mass0, chunk_prefix[c]);
  ctl.action = ACT_WALK;
}

fn finish_collect() {
  var acc = vec2<u32>(0u, 0u);
  for (var c = 0u; c < WG; c = c + 1u) {
    let m = chunk_prefix[c];
    chunk_prefix[c] = acc;
    acc = add64(acc, m);
  }
  chunk_prefix[WG] = acc;
  ctl.win_mass = acc;
  ctl.win_valid = 1u;
}

// ---- the row's state machine (thread 0): each step ends with the next action for all threads

// After the level-0 histogram or a finished find: record what it found, then move through the stages (top-k, top-p,
// draw) until one needs a find. Returns whether a find was started into ctl.kind / ctl.goal.
fn next_find(pr: u32, done: u32) -> bool {
  if (ctl.level0 != 0u) {
    // Level 0 is built: the row's total mass is Z_k when top-k is off.
    ctl.level0 = 0u;
    var z = vec2<u32>(0u, 0u);
    for (var d = 0u; d < BINS; d = d + 1u) {
      z = add64(z, vec2<u32>(atomicLoad(&h_mass_lo[d]), atomicLoad(&h_mass_hi[d])));
    }
    ctl.n_k = p.vocab;
    ctl.z_k = z;
    let top_k = u32(params[pr + 2u]);
    if (top_k > 0u && top_k < p.vocab) {
      ctl.n_k = top_k;
      ctl.stage = STAGE_TOP_K;
      ctl.kind = KIND_COUNT; // the mass of ranks < k comes with the token of rank k - 1
      ctl.goal = vec2<u32>(top_k - 1u, 0u);
      return true;
    }
  } else if (ctl.stage == STAGE_TOP_K) {
    ctl.z_k = ctl.res_mass;
  } else if (ctl.stage == STAGE_TOP_P) {
    ctl.n_p = ctl.res_count;
    ctl.z_p = ctl.res_mass;
  } else {
    return false; // the draw is done
  }
  // Both goals below are floor or ceil of Z * f / 2^24: one multiply call site (see advance()).
  var z = ctl.z_k;
  var f24 = 0u;
  var up = false;
  if (ctl.stage == STAGE_TOP_K || ctl.stage == STAGE_START) {
    // top-p: the first rank whose cumulative mass reaches theta = ceil(p24 * Z_k / 2^24), i.e. exceeds theta - 1.
    // theta = 0 exactly when p24 = 0, as Z_k >= 2^32 (rank 0 has w = 1): then only rank 0 is kept.
    ctl.stage = STAGE_TOP_P;
    ctl.n_p = ctl.n_k;
    ctl.z_p = ctl.z_k;
    let p24 = u32(params[pr + 3u] * 16777216.0);
    if (p24 == 0u) {
      ctl.n_p = 1u;
      ctl.z_p = vec2<u32>(0u, 1u);
    } else if (p24 < 16777216u) {
      f24 = p24;
      up = true;
    }
  }
  if (!up) {
    // min-p, the kept prefix (the shortest of top-k, top-p, min-p) and its mass Z; the draw's goal is
    // floor(r24 * Z / 2^24).
    ctl.stage = STAGE_DRAW;
    var n = ctl.n_p;
    z = ctl.z_p;
    if (ctl.n_k < n) {
      n = ctl.n_k;
      z = ctl.z_k;
    }
    if (ctl.min_p > 0.0 && atomicLoad(&g[G_MINP_COUNT]) < n) {
      z = vec2<u32>(atomicLoad(&g[G_MINP_LO]), atomicLoad(&g[G_MINP_HI]));
    }
    f24 = min(u32(params[pr + 5u] * 16777216.0), 16777215u);
  }
  ctl.kind = KIND_MASS;
  ctl.goal = mul_shr24(z, f24, up);
  if (up) { ctl.goal = sub64(ctl.goal, vec2<u32>(1u, 0u)); }
  return true;
}

// Pick the next action after `done`. Each helper has a single call site: SwiftShader's cost per invocation grows with
// the inlined code size, even where it never runs.
fn advance(pr: u32, done: u32) {
  var plan_from = ALL;
  if (done == ACT_HIST && ctl.level0 == 0u) {
    plan_from = BINS;
  } else if (done == ACT_COLLECT) {
    finish_collect();
  } else if (next_find(pr, done)) {
    if (!window_holds(ctl.kind, ctl.goal)) { plan_from = 0u; }
  } else {
    ctl.action = ACT_DONE;
    return;
  }
  if (plan_from != ALL) { plan(plan_from); } else { locate_in_window(); }
}
