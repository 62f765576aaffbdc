// 64-bit unsigned integers as vec2<u32> (lo, hi), for sample.wgsl's integer masses (prepended as a library).
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn gt64(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y > b.y || (a.y == b.y && a.x > b.x); }

// floor(a * b / 2^24), or the ceiling, for a < 2^52 and b <= 2^24: 16-bit limbs so no partial product overflows.
fn mul_shr24(a: vec2<u32>, b: u32, round_up: bool) -> vec2<u32> {
  var al = array<u32, 4>(a.x & 0xffffu, a.x >> 16u, a.y & 0xffffu, a.y >> 16u);
  var bl = array<u32, 2>(b & 0xffffu, b >> 16u);
  var col = array<u32, 7>(0u, 0u, 0u, 0u, 0u, 0u, 0u);
  for (var i = 0u; i < 4u; i = i + 1u) {
    for (var j = 0u; j < 2u; j = j + 1u) {
      let prod = al[i] * bl[j];
      col[i + j] = col[i + j] + (prod & 0xffffu);
      col[i + j + 1u] = col[i + j + 1u] + (prod >> 16u);
    }
  }
  var carry = 0u;
  for (var k = 0u; k < 7u; k = k + 1u) {
    let v = col[k] + carry;
    col[k] = v & 0xffffu;
    carry = v >> 16u;
  }
  // product bits 24..87 -> (lo, hi)
  var r = vec2<u32>((col[1] >> 8u) | (col[2] << 8u) | (col[3] << 24u), (col[3] >> 8u) | (col[4] << 8u) | (col[5] << 24u));
  if (round_up && (col[0] != 0u || (col[1] & 0xffu) != 0u)) { r = add64(r, vec2<u32>(1u, 0u)); }
  return r;
}
