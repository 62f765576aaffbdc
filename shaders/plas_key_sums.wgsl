// PLAS compressed keys, step 1: bring the per-page key sums up to date after a step's K/V write.
//
// Bindings: 0 p: Params (uniform); 1 k: KV dtype [numPages, page_size, kv_heads, D] (the layer's K pool, post-RoPE,
//   KvVec of lib/kv_f32.wgsl or lib/kv_f16.wgsl: the sums add the keys as stored, f16-rounded in an f16 pool);
//   2 key_sums: f32 [numPages, kv_heads, D] (read and written); 3 items: u32 [items, 4] = (page, first_slot, count,
//   block_offset): the slots first_slot ..< first_slot + count of `page` were written this step, and slot 0 of the page
//   is position block_offset of its PLAS block; entry main_gate only: 4 gate: f32 [kv_heads, block_size, D].
//   key_sums and gate are read as vec4 (D = 4 * d4), k as KvVec widened by kv_load().
// Workgroup: WG threads (override); thread i of the grid owns column c (a vec4) of kv head h of item `item`, with
//   i = (item * kv_heads + h) * d4 + c. Grid: ceil(items * kv_heads * d4 / WG) workgroups, folded into 2-D
//   (wg.x + wg.y * grid_x).
// Computes: key_sums[page, h] = (first_slot == 0 ? 0 : key_sums[page, h]) + sum over the new slots s, in order, of
//   k[page, s, h] (main: mean pooling divides later) or gate[h, block_offset + s] * k[page, s, h] (main_gate).
//   One thread walks all new slots of its page, so a page filled by several tokens in one step needs no atomics, and
//   the additions happen in slot order: the result equals a sum over the page recomputed from scratch.
// Entry main_bounds (the key-bound block score, Quest's): binding 2 is key_bounds f32 [numPages, kv_heads, 2, D], the
//   per-channel maximum then minimum of the page's keys as stored: bounds[page, h, 0] = max(first_slot == 0 ? -inf :
//   bounds[page, h, 0], k[page, s, h] over the new slots s), bounds[page, h, 1] the same with min. Max and min are
//   exact, so the result equals the page's extremes recomputed from scratch in any order.

struct Params {
  items: u32,
  kv_heads: u32,
  d4: u32,
  page_size: u32,
  block_size: u32,
  grid_x: u32,
}

override WG: u32 = 64u;
// The largest finite f32: the bounds of a page start past any key (WGSL has no infinity literal).
const INF: f32 = 3.4028234e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> k: array<KvVec>;
@group(0) @binding(2) var<storage, read_write> key_sums: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> items: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> gate: array<vec4<f32>>;

struct Slot {
  valid: bool,
  item: vec4<u32>,
  h: u32,
  c: u32,
}

fn slot_of(wg: vec3<u32>, tid: u32) -> Slot {
  let i = (wg.x + wg.y * p.grid_x) * WG + tid;
  let per_item = p.kv_heads * p.d4;
  var s: Slot;
  s.valid = i < p.items * per_item;
  if (!s.valid) { return s; }
  s.item = items[i / per_item];
  s.h = (i % per_item) / p.d4;
  s.c = i % p.d4;
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let s = slot_of(wg, tid);
  if (!s.valid) { return; }
  let page = s.item.x;
  let dst = (page * p.kv_heads + s.h) * p.d4 + s.c;
  var acc = vec4<f32>(0.0);
  if (s.item.y != 0u) { acc = key_sums[dst]; }
  for (var slot = s.item.y; slot < s.item.y + s.item.z; slot++) {
    acc += kv_load(k[((page * p.page_size + slot) * p.kv_heads + s.h) * p.d4 + s.c]);
  }
  key_sums[dst] = acc;
}

@compute @workgroup_size(WG)
fn main_gate(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let s = slot_of(wg, tid);
  if (!s.valid) { return; }
  let page = s.item.x;
  let dst = (page * p.kv_heads + s.h) * p.d4 + s.c;
  var acc = vec4<f32>(0.0);
  if (s.item.y != 0u) { acc = key_sums[dst]; }
  for (var slot = s.item.y; slot < s.item.y + s.item.z; slot++) {
    let w = gate[((s.h * p.block_size) + s.item.w + slot) * p.d4 + s.c];
    acc = fma(w, kv_load(k[((page * p.page_size + slot) * p.kv_heads + s.h) * p.d4 + s.c]), acc);
  }
  key_sums[dst] = acc;
}

@compute @workgroup_size(WG)
fn main_bounds(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let s = slot_of(wg, tid);
  if (!s.valid) { return; }
  let page = s.item.x;
  let hi_at = ((page * p.kv_heads + s.h) * 2u) * p.d4 + s.c; // key_sums is key_bounds here: [.., 2, d4]
  let lo_at = hi_at + p.d4;
  var hi = vec4<f32>(-INF);
  var lo = vec4<f32>(INF);
  if (s.item.y != 0u) {
    hi = key_sums[hi_at];
    lo = key_sums[lo_at];
  }
  for (var slot = s.item.y; slot < s.item.y + s.item.z; slot++) {
    let key = kv_load(k[((page * p.page_size + slot) * p.kv_heads + s.h) * p.d4 + s.c]);
    hi = max(hi, key);
    lo = min(lo, key);
  }
  key_sums[hi_at] = hi;
  key_sums[lo_at] = lo;
}
