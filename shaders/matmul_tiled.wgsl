// Tiled matrix-matrix product for prefill: out = x @ weights^T (+ bias).
//
// Bindings: 0 p: Params (uniform); 1 x: f32 [M, K]; 2 weights: [N, K] in the dtype of the lib prepended
//   (weights_f32/f16/bf16.wgsl; 16-bit packed two per u32); 3 out: f32 [M, N];
//   entry main_bias only: 4 bias: [N] in p.bias_dtype (0 f32, 1 f16, 2 bf16; 16-bit packed two per u32; a
//   uniform rather than an override, so the bias dtype does not multiply the pipelines; read by lib/bias.wgsl).
// Workgroup: 8 x 8 = 64 threads computing a 64 x 64 output tile, each thread an 8 x 8 block: rows 4 ty + i and
//   32 + 4 ty + i, columns 4 tx + j and 32 + 4 tx + j (i, j < 4). 64 threads rather than 256 because barriers cost
//   per thread on SwiftShader (4x fewer fibers to switch), and 64 outputs per thread give 4 FMAs per workgroup-memory
//   read. Grid: ceil(M / 64) * ceil(N / 64) tiles, M-tile fastest (the tiles that share a weight tile run back to
//   back), folded into 2-D past 65,535 (tile = wg.x + wg.y * grid_x).
// Computes: steps of BK along K; each step stages x[64, BK] and weights[64, BK] in workgroup memory, transposed to
//   [BK][64] (as vec4s of 4 rows) so that per k a thread reads 2 vec4s of x rows and 2 of weight rows for 64 FMAs.
//   Out-of-range rows and k are staged as zeros, so any M, N, K works; f32 accumulation throughout.
// Assumes: BK is 8, 16 or 32 (even: the tile is staged in pairs of k; 16 measured fastest on SwiftShader); PAIRED (K even) reads weights as weight2
//   pairs (one u32 for 16-bit weights), else element by element (f32 weights with K odd).

struct Params {
  m: u32,
  n: u32,
  k: u32,
  tiles_m: u32,
  grid_x: u32,
  bias_dtype: u32,
}

override BK: u32 = 16u;
override PAIRED: bool = true;
override TILE_VEC4S: u32 = BK * 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<u32>;

// [BK][16] vec4s: xs[k * 16 + i] holds x rows 4i .. 4i + 3 of the tile at depth k; ws likewise for weight rows.
var<workgroup> xs: array<vec4<f32>, TILE_VEC4S>;
var<workgroup> ws: array<vec4<f32>, TILE_VEC4S>;

/// x[row, k], x[row, k + 1], zero outside [M, K].
fn x_pair(row: u32, k: u32) -> vec2<f32> {
  if (row >= p.m || k >= p.k) { return vec2<f32>(0.0); }
  let i = row * p.k + k;
  if (k + 1u == p.k) { return vec2<f32>(x[i], 0.0); }
  return vec2<f32>(x[i], x[i + 1u]);
}

/// weights[row, k], weights[row, k + 1], zero outside [N, K]; k is even.
fn w_pair(row: u32, k: u32) -> vec2<f32> {
  if (row >= p.n || k >= p.k) { return vec2<f32>(0.0); }
  let i = row * p.k + k;
  if (PAIRED) { return weight2(i >> 1u); }
  if (k + 1u == p.k) { return vec2<f32>(weight(i), 0.0); }
  return vec2<f32>(weight(i), weight(i + 1u));
}

/// Stage x[m0 .. m0 + 64, k0 .. k0 + BK] and weights[n0 .. n0 + 64, k0 .. k0 + BK]: item (pair kp, row group i)
/// loads two k of four rows and writes two vec4s; the 64 threads share BK / 2 * 16 items per operand. Neighbouring
/// threads take neighbouring pairs of one row, so global reads stay contiguous.
fn stage(m0: u32, n0: u32, k0: u32, tid: u32) {
  let pairs = BK / 2u;
  for (var item = tid; item < pairs * 16u; item += 64u) {
    let kp = item % pairs;
    let i = item / pairs;
    let k = k0 + 2u * kp;
    let r = 4u * i;
    let a0 = x_pair(m0 + r, k);
    let a1 = x_pair(m0 + r + 1u, k);
    let a2 = x_pair(m0 + r + 2u, k);
    let a3 = x_pair(m0 + r + 3u, k);
    xs[2u * kp * 16u + i] = vec4<f32>(a0.x, a1.x, a2.x, a3.x);
    xs[(2u * kp + 1u) * 16u + i] = vec4<f32>(a0.y, a1.y, a2.y, a3.y);
    let b0 = w_pair(n0 + r, k);
    let b1 = w_pair(n0 + r + 1u, k);
    let b2 = w_pair(n0 + r + 2u, k);
    let b3 = w_pair(n0 + r + 3u, k);
    ws[2u * kp * 16u + i] = vec4<f32>(b0.x, b1.x, b2.x, b3.x);
    ws[(2u * kp + 1u) * 16u + i] = vec4<f32>(b0.y, b1.y, b2.y, b3.y);
  }
}

struct Tile {
  m0: u32,
  n0: u32,
  valid: bool,
}

fn tile_of(wg: vec3<u32>) -> Tile {
  let tile = wg.x + wg.y * p.grid_x;
  let tiles_n = (p.n + 63u) / 64u;
  return Tile(64u * (tile % p.tiles_m), 64u * (tile / p.tiles_m), tile < p.tiles_m * tiles_n);
}

/// The thread's 8 x 8 block as 16 vec4s of 4 columns: acc[q] is row 4 ty + (q & 3) (+ 32 when q & 4), columns
/// 4 tx .. 4 tx + 3 (+ 32 when q >= 8). Reading vec4s ty and ty + 8 of xs, tx and tx + 8 of ws keeps neighbouring
/// threads on neighbouring vec4s. The accumulators are separate variables, not an array: SwiftShader keeps an array
/// in memory and is measurably slower with it.
fn accumulate(t: Tile, tx: u32, ty: u32, tid: u32) -> array<vec4<f32>, 16> {
  var c0 = vec4<f32>(0.0); var c1 = c0; var c2 = c0; var c3 = c0; var c4 = c0; var c5 = c0; var c6 = c0; var c7 = c0;
  var c8 = c0; var c9 = c0; var c10 = c0; var c11 = c0; var c12 = c0; var c13 = c0; var c14 = c0; var c15 = c0;
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    stage(t.m0, t.n0, k0, tid);
    workgroupBarrier();
    // Only the staged depth: the last step of a K that is not a multiple of BK stops early. (A bound known only at
    // run time also keeps SwiftShader from unrolling this loop, which made the pipeline take seconds to compile.)
    let depth = min(BK, p.k - k0);
    for (var kk = 0u; kk < depth; kk++) {
      let a0 = xs[kk * 16u + ty];
      let a1 = xs[kk * 16u + ty + 8u];
      let b0 = ws[kk * 16u + tx];
      let b1 = ws[kk * 16u + tx + 8u];
      c0 += a0.x * b0; c1 += a0.y * b0; c2 += a0.z * b0; c3 += a0.w * b0;
      c4 += a1.x * b0; c5 += a1.y * b0; c6 += a1.z * b0; c7 += a1.w * b0;
      c8 += a0.x * b1; c9 += a0.y * b1; c10 += a0.z * b1; c11 += a0.w * b1;
      c12 += a1.x * b1; c13 += a1.y * b1; c14 += a1.z * b1; c15 += a1.w * b1;
    }
    workgroupBarrier();
  }
  let acc = array<vec4<f32>, 16>(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15);
  return acc;
}

/// Store acc (see accumulate) plus the bias of each column (b0: columns 4 tx .., b1: columns 32 + 4 tx ..).
fn store(t: Tile, tx: u32, ty: u32, acc: array<vec4<f32>, 16>, b0: vec4<f32>, b1: vec4<f32>) {
  for (var q = 0u; q < 16u; q++) {
    let row = t.m0 + 4u * ty + (q & 3u) + select(0u, 32u, (q & 4u) != 0u);
    let col = t.n0 + 4u * tx + select(0u, 32u, q >= 8u);
    if (row < p.m) {
      let v = acc[q] + select(b0, b1, q >= 8u);
      let o = row * p.n + col;
      for (var j = 0u; j < 4u; j++) {
        if (col + j < p.n) { out[o + j] = v[j]; }
      }
    }
  }
}

fn bias4(col: u32) -> vec4<f32> {
  var b: vec4<f32>;
  for (var j = 0u; j < 4u; j++) { b[j] = select(0.0, bias_value(min(col + j, p.n - 1u)), col + j < p.n); }
  return b;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let t = tile_of(wg);
  if (!t.valid) { return; }
  store(t, lid.x, lid.y, accumulate(t, lid.x, lid.y, tid), vec4<f32>(0.0), vec4<f32>(0.0));
}

@compute @workgroup_size(8, 8)
fn main_bias(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
             @builtin(local_invocation_index) tid: u32) {
  let t = tile_of(wg);
  if (!t.valid) { return; }
  let col = t.n0 + 4u * lid.x;
  store(t, lid.x, lid.y, accumulate(t, lid.x, lid.y, tid), bias4(col), bias4(col + 32u));
}
