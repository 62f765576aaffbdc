// Repetition, presence and frequency penalties, applied in place to the logits of the tokens a sequence has seen.
//
// Bindings: 0 p: Params (uniform); 1 logits: f32 [B, V] (read_write, in place); 2 entries: u32 [n, 3] rows of
//   (batch row, token id, count of the token in the generated output); 3 penalties: f32 [B, 3] per row
//   (repetition, presence, frequency).
// Workgroup: 64 threads, one entry each; grid: ceil(n / 64), folded into 2-D past 65,535 workgroups.
// Computes, for each listed token (listed once per row; every token of prompt or output is listed, count 0 when it
//   appears only in the prompt):
//   repetition (Hugging Face / CTRL): logit > 0 ? logit / r : logit * r   (over prompt and output)
//   presence and frequency (OpenAI): logit -= presence * (count > 0) + frequency * count   (over the output only)
// Entries must name distinct (row, token) pairs, so no two threads write one logit.

struct Params {
  n: u32,
  vocab: u32,
  rows: u32,
  grid_x: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> entries: array<u32>;
@group(0) @binding(3) var<storage, read> penalties: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wg.x + wg.y * p.grid_x) * 64u + lid;
  if (e >= p.n) { return; }
  let row = entries[3u * e];
  let token = entries[3u * e + 1u];
  let count = f32(entries[3u * e + 2u]);
  if (row >= p.rows || token >= p.vocab) { return; }
  let repetition = penalties[3u * row];
  let presence = penalties[3u * row + 1u];
  let frequency = penalties[3u * row + 2u];
  let i = row * p.vocab + token;
  var logit = logits[i];
  logit = select(logit * repetition, logit / repetition, logit > 0.0);
  logit = logit - presence * select(0.0, 1.0, count > 0.0) - frequency * count;
  logits[i] = logit;
}
