// KV pool element type f16 (cache.dtype 'f16', the default): 4 values of a row are two u32, each two IEEE halves
// (element 2i in the low half, as engine/gpu/dtype.ts packs 16-bit tensors), so the same WGSL runs with and without
// the `shader-f16` feature; reads are half the bytes of f32 either way. Contract: see kv_f32.wgsl.
// kv_store() saturates to the largest finite half (+-65504: pack2x16float of a value out of range is undefined, NaN on
// SwiftShader, and a NaN key would poison every softmax it enters), then rounds with pack2x16float (to nearest even
// on SwiftShader, which measured it; only below the smallest subnormal, 2^-24, may it flush to 0 where the twin keeps
// 2^-24). The twin (engine/reference/paged-attention.ts) saturates and rounds the same way.
alias KvVec = vec2<u32>;
const KV_F16_MAX: f32 = 65504.0;
fn kv_load(x: KvVec) -> vec4<f32> { return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y)); }
fn kv_store(x: vec4<f32>) -> KvVec {
  let c = clamp(x, vec4<f32>(-KV_F16_MAX), vec4<f32>(KV_F16_MAX));
  return vec2<u32>(pack2x16float(c.xy), pack2x16float(c.zw));
}
