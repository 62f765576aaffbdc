// Paged KV write: scatter the keys and values of a step's new tokens into their pages (paged-layout.ts).
//
// Bindings: 0 p: Params (uniform); 1 k: f32 [T, kv_heads, D]; 2 v: f32 [T, kv_heads, D]; 3 slot_mapping: u32 [T]
//   (page * page_size + slot of each token); 4 k_pool: KV dtype [num_pages, page_size, kv_heads, D]; 5 v_pool: same.
//   K and V are read as vec4 (row_vec4 = kv_heads * D / 4 per token) and stored as KvVec: lib/kv_f32.wgsl or
//   lib/kv_f16.wgsl (the launcher picks by the pool's dtype; f16 rounds on store).
// Workgroup: WG threads (override), one per vec4 of a token's row; grid: ceil(T * row_vec4 / WG) workgroups, folded
//   into 2-D (id = wg.x + wg.y * grid_x).
// Computes: k_pool[slot_mapping[t]] = k[t] and v_pool[slot_mapping[t]] = v[t] (whole rows of kv_heads x D). A slot
//   past the pool (>= num_slots) is skipped rather than written out of bounds; the launcher cannot see slot values.

struct Params {
  tokens: u32,
  row_vec4: u32,
  num_slots: u32,
  grid_x: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> slot_mapping: array<u32>;
@group(0) @binding(4) var<storage, read_write> k_pool: array<KvVec>;
@group(0) @binding(5) var<storage, read_write> v_pool: array<KvVec>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let i = (wg.x + wg.y * p.grid_x) * WG + tid;
  if (i >= p.tokens * p.row_vec4) { return; }
  let t = i / p.row_vec4;
  let slot = slot_mapping[t];
  if (slot >= p.num_slots) { return; }
  let dst = slot * p.row_vec4 + i % p.row_vec4;
  k_pool[dst] = kv_store(k[i]);
  v_pool[dst] = kv_store(v[i]);
}
