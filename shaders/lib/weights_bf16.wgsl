// Weight reads for bf16 tensors packed two per u32 (element 2p in the low half). A bf16 is the top half of an f32,
// so unpacking is a shift and a mask. Contract: the kernel declares `weights: array<u32>`.
fn bf16_pair(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }
fn weight(i: u32) -> f32 { let pair = bf16_pair(weights[i >> 1u]); return select(pair.x, pair.y, (i & 1u) == 1u); }
fn weight2(p: u32) -> vec2<f32> { return bf16_pair(weights[p]); }
fn weight4(q: u32) -> vec4<f32> { return vec4<f32>(bf16_pair(weights[2u * q]), bf16_pair(weights[2u * q + 1u])); }
