// Greedy decoding: out[row] = argmax(logits[row, :]), the lowest index among equal maxima. Needs sample_keys.wgsl
// prepended (logits compare by sanitised f32 bit pattern: NaN counts as -inf).
//
// Bindings: 0 p: Params (uniform); 1 logits: f32 [rows, vocab]; 2 out: u32 [rows].
// Workgroup: WG threads (override) per row, each scanning a strided slice; the row's best key and then the lowest
//   index holding it are found with two workgroup atomics. Grid: one workgroup per row, folded into 2-D
//   (row = wg.x + wg.y * grid_x).

struct Params {
  rows: u32,
  vocab: u32,
  grid_x: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> best_key: atomic<u32>;
var<workgroup> best_index: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wg.x + wg.y * p.grid_x;
  if (row >= p.rows) { return; }
  if (tid == 0u) {
    atomicStore(&best_key, 0u);
    atomicStore(&best_index, 0xffffffffu);
  }
  let base = row * p.vocab;
  var key = 0u;
  var index = 0xffffffffu;
  for (var i = tid; i < p.vocab; i = i + WG) {
    let k = order_key(sanitize_logit(logits[base + i]));
    if (k > key || index == 0xffffffffu) { // strictly greater: the first (lowest) index of this thread's slice wins
      key = k;
      index = i;
    }
  }
  workgroupBarrier();
  atomicMax(&best_key, key);
  workgroupBarrier();
  if (index != 0xffffffffu && key == atomicLoad(&best_key)) { atomicMin(&best_index, index); }
  workgroupBarrier();
  if (tid == 0u) { out[row] = atomicLoad(&best_index); }
}
