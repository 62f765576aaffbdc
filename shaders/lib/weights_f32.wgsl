// Weight reads for f32 tensors. Contract: the kernel declares `weights: array<u32>` holding f32 bits.
// weight(i): element i; weight2(p): elements 2p, 2p+1; weight4(q): elements 4q .. 4q+3.
fn weight(i: u32) -> f32 { return bitcast<f32>(weights[i]); }
fn weight2(p: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(weights[2u * p]), bitcast<f32>(weights[2u * p + 1u])); }
fn weight4(q: u32) -> vec4<f32> {
  let i = 4u * q;
  return vec4<f32>(bitcast<f32>(weights[i]), bitcast<f32>(weights[i + 1u]), bitcast<f32>(weights[i + 2u]), bitcast<f32>(weights[i + 3u]));
}
