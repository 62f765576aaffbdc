// SwiGLU: out = silu(gate) * up, elementwise over [rows, cols].
//
// Bindings: 0 p: Params (uniform); 1 gate: f32; 2 up: f32; 3 out: f32 [rows, cols].
//   gate and up may be the same buffer (a fused [rows, 2 * cols] gate_up projection): element (r, c) of gate is
//   gate[r * gate_stride + c] and of up is up[r * up_stride + up_offset + c], so one shader serves both layouts.
// Workgroup: WG threads (override), each handling ELEMS elements strided by WG, so every load is coalesced.
// Grid: ceil(rows * cols / (WG * ELEMS)) workgroups, folded into 2-D (block = wg.x + wg.y * grid_x).
// silu(g) = g * sigmoid(g), with sigmoid from exp(-|g|) so it never overflows.

struct Params {
  rows: u32,
  cols: u32,
  gate_stride: u32,
  up_stride: u32,
  up_offset: u32,
  grid_x: u32,
}

override WG: u32 = 256u;
const ELEMS: u32 = 4u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn silu(g: f32) -> f32 {
  let e = exp(-abs(g)); // in (0, 1]
  return g * select(e, 1.0, g >= 0.0) / (1.0 + e);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let total = p.rows * p.cols;
  let first = (wg.x + wg.y * p.grid_x) * WG * ELEMS + tid;
  for (var k = 0u; k < ELEMS; k = k + 1u) {
    let e = first + k * WG;
    if (e >= total) { return; }
    let r = e / p.cols;
    let c = e - r * p.cols;
    out[e] = silu(gate[r * p.gate_stride + c]) * up[r * p.up_stride + p.up_offset + c];
  }
}
