// Rotary position embedding, in place: for each token t, head h and pair i < half_rot,
//   (x0, x1) <- (x0 * cos a - x1 * sin a, x1 * cos a + x0 * sin a), a = f32(positions[t]) * inv_freq[i] (rounded to
//   f32 as transformers computes it). Pairs are (i, i + half_rot) (neox) or (2i, 2i + 1) (interleaved); dimensions
//   from 2 * half_rot to head_dim are left as they are.
//
// Bindings: 0 p: Params (uniform); 1 x: f32 [tokens, heads, head_dim] (read_write); 2 positions: u32 [tokens];
//   3 inv_freq: f32 [half_rot].
// Workgroup: WG threads (override); one thread per (token, pair), looping over the heads so cos/sin are computed once.
// Grid: ceil(tokens * half_rot / WG) workgroups, folded into 2-D (block = wg.x + wg.y * grid_x).
//
// cos/sin are computed here, not with the builtins: WGSL (like Vulkan) only promises 2^-11 absolute error for them
// inside [-pi, pi] and nothing outside (SwiftShader is off by 2e-4 at 0.16 rad; fast hardware paths lose ~1e-2 at
// angles of 1e5). The angle is reduced to [-pi/4, pi/4] by k * pi/2 with a three-part Cody-Waite split of pi/2
// (k * PIO2_A and k * PIO2_B are exact for k < 2^19, i.e. angles below ~823,000 radians), then Cephes' minimax
// polynomials give sin and cos to about 1e-7.

struct Params {
  tokens: u32,
  heads: u32,
  head_dim: u32,
  half_rot: u32,
  interleaved: u32,
  grid_x: u32,
}

override WG: u32 = 256u;

const TWO_OVER_PI: f32 = 0.6366197723675814;
const PIO2_A: f32 = 1.5625;                   // 25 / 16: 5 significant bits
const PIO2_B: f32 = 0.00830078125;            // 17 / 2048: 5 significant bits
const PIO2_C: f32 = -4.454455103442001e-6;    // pi/2 - A - B, rounded to f32

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> inv_freq: array<f32>;

// (cos a, sin a) for a >= 0.
fn cos_sin(a: f32) -> vec2<f32> {
  let k = round(a * TWO_OVER_PI);
  let y = ((a - k * PIO2_A) - k * PIO2_B) - k * PIO2_C; // in [-pi/4, pi/4] (a hair beyond from rounding)
  let z = y * y;
  let s = y + y * z * ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1);
  let c = 1.0 - 0.5 * z + z * z * ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2);
  switch (u32(k) & 3u) {
    case 0u: { return vec2<f32>(c, s); }
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let g = (wg.x + wg.y * p.grid_x) * WG + tid;
  let t = g / p.half_rot;
  if (t >= p.tokens) { return; }
  let i = g - t * p.half_rot;
  let cs = cos_sin(f32(positions[t]) * inv_freq[i]);
  let c = cs.x;
  let s = cs.y;
  var j0 = i;
  var j1 = i + p.half_rot;
  if (p.interleaved != 0u) {
    j0 = 2u * i;
    j1 = j0 + 1u;
  }
  for (var h = 0u; h < p.heads; h = h + 1u) {
    let base = (t * p.heads + h) * p.head_dim;
    let x0 = x[base + j0];
    let x1 = x[base + j1];
    x[base + j0] = x0 * c - x1 * s;
    x[base + j1] = x1 * c + x0 * s;
  }
}
