// Matrix-vector product for decode, one subgroup per 4 weight rows: out = x @ weights^T (+ bias). Needs `subgroups`.
//
// Bindings: 0 p: Params (uniform); 1 x: f32 [M, K]; 2 weights: [N, K] in the dtype of the lib prepended
//   (weights_f32/f16/bf16.wgsl; 16-bit packed two per u32); 3 out: f32 [M, N];
//   entry main_bias only: 4 bias: [N] in p.bias_dtype (0 f32, 1 f16, 2 bf16; 16-bit packed two per u32; a
//   uniform rather than an override, so the bias dtype does not multiply the pipelines; read by lib/bias.wgsl).
// Workgroup: WG threads owning ROWS consecutive weight rows (a multiple of 4); subgroup s takes rows 4s .. 4s + 3,
//   then 4 (s + num_subgroups) .., so any subgroup size works. Grid: ceil(N / ROWS) workgroups, folded into 2-D past
//   65,535 (block = wg.x + wg.y * grid_x).
// Computes: the lanes of a subgroup stride over K four elements at a time (adjacent lanes read adjacent chunks of
//   each row); every weight chunk is loaded once and dotted with all MR (= M) activation rows, so batched decode
//   rows share each weight load. Per lane: acc[m] = partial sums of the 4 rows (a vec4), f32. subgroupAdd finishes
//   them: no workgroup memory and no barrier (barrier-free workgroups are also what SwiftShader runs cheaply). The
//   per-lane row work is lib/matvec_rows.wgsl.
// Assumes: 1 <= MR <= 8; VEC = 4 when K % 4 == 0 (weight4), 2 when K is even (weight2 pairs), else 1 (weight()).

struct Params {
  m: u32,
  n: u32,
  k: u32,
  grid_x: u32,
  bias_dtype: u32,
}

override WG: u32 = 256u;
override ROWS: u32 = 64u;
override MR: u32 = 1u;
override VEC: u32 = 4u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<u32>;

/// Sums of rows r0 .. r0 + 3 against each activation row m, complete in every lane: result[m][j] is row r0 + j.
fn row_sums(r0: u32, lane: u32, lanes: u32) -> array<vec4<f32>, MAX_M> {
  var acc = partial_sums(r0, lane, lanes);
  for (var m = 0u; m < MR; m++) { acc[m] = subgroupAdd(acc[m]); }
  return acc;
}

fn block_rows(wg: vec3<u32>) -> vec2<u32> {
  let row0 = (wg.x + wg.y * p.grid_x) * ROWS;
  return vec2<u32>(row0, min(row0 + ROWS, p.n));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) sgs: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let rows = block_rows(wg);
  for (var r0 = rows.x + 4u * sg; r0 < rows.y; r0 += 4u * sgs) {
    let acc = row_sums(r0, lane, lanes);
    // Lane j < 4 stores row r0 + j (subgroups have at least 4 lanes).
    if (lane < 4u && r0 + lane < rows.y) {
      for (var m = 0u; m < MR; m++) { out[m * p.n + r0 + lane] = acc[m][lane]; }
    }
  }
}

@compute @workgroup_size(WG)
fn main_bias(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) sgs: u32,
             @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let rows = block_rows(wg);
  for (var r0 = rows.x + 4u * sg; r0 < rows.y; r0 += 4u * sgs) {
    let acc = row_sums(r0, lane, lanes);
    if (lane < 4u && r0 + lane < rows.y) {
      let b = bias_value(r0 + lane);
      for (var m = 0u; m < MR; m++) { out[m * p.n + r0 + lane] = acc[m][lane] + b; }
    }
  }
}
