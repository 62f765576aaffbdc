// Logit keys shared by argmax.wgsl and sample.wgsl (prepended as a library). Logits are sanitised (NaN -> -inf,
// +inf -> the largest f32) and compared by their f32 bit patterns, which gives a total order (+0 above -0) that the
// twin in engine/reference/sampling.ts reproduces exactly.

const NEG_INF_BITS: u32 = 0xff800000u;

// -inf at run time (a constant -inf is a WGSL error).
fn neg_inf() -> f32 {
  var bits = NEG_INF_BITS;
  return bitcast<f32>(bits);
}

fn sanitize_logit(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return neg_inf(); }
  if (b == 0x7f800000u) { return bitcast<f32>(0x7f7fffffu); }
  return x;
}

fn is_neg_inf(x: f32) -> bool { return bitcast<u32>(x) == NEG_INF_BITS; }

// Larger key = larger logit.
fn order_key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Rank key: ascending rank key = descending logit, so (rank_key, index) ascending is the rank order.
fn rank_key(x: f32) -> u32 { return ~order_key(x); }

fn rank_key_logit(k: u32) -> f32 {
  return bitcast<f32>(select(~k & 0x7fffffffu, k, (k & 0x80000000u) != 0u));
}
