// Weight reads for f16 tensors packed two per u32 (element 2p in the low half): works without `shader-f16`.
// Contract: the kernel declares `weights: array<u32>`. weight(i), weight2(p) (elements 2p, 2p+1), weight4(q).
fn weight(i: u32) -> f32 { let pair = unpack2x16float(weights[i >> 1u]); return select(pair.x, pair.y, (i & 1u) == 1u); }
fn weight2(p: u32) -> vec2<f32> { return unpack2x16float(weights[p]); }
fn weight4(q: u32) -> vec4<f32> { return vec4<f32>(unpack2x16float(weights[2u * q]), unpack2x16float(weights[2u * q + 1u])); }
