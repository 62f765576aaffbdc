// Byte reads of quantized weight tensors: ggml blocks stored back to back exactly as in the file (a q8_0 block is 34
// bytes, so blocks are not word-aligned), the buffer padded with zeros to a whole number of u32 words. Reads of any
// byte alignment are assembled from the (at most two) words that hold them; a read never goes past the last word
// holding a byte of the tensor. Contract: the kernel declares `weights: array<u32>`.

// Byte a (0 ..= 255).
fn qbyte(a: u32) -> u32 { return (weights[a >> 2u] >> ((a & 3u) * 8u)) & 0xffu; }

// Bytes a .. a + 3 as a little-endian u32, any alignment.
fn qword(a: u32) -> u32 {
  let s = (a & 3u) * 8u;
  let lo = weights[a >> 2u];
  if (s == 0u) { return lo; }
  return (lo >> s) | (weights[(a >> 2u) + 1u] << (32u - s));
}

// The f16 at byte a (a even), widened to f32.
fn qhalf(a: u32) -> f32 {
  let w = weights[a >> 2u];
  return unpack2x16float(select(w, w >> 16u, (a & 2u) != 0u)).x;
}

// Byte k (0 ..= 3) of w as a signed value.
fn qsigned(w: u32, k: u32) -> f32 { return f32(bitcast<i32>(w << (24u - 8u * k)) >> 24u); }

// The four bytes of w as unsigned values.
fn qbytes4(w: u32) -> vec4<u32> { return vec4<u32>(w & 0xffu, (w >> 8u) & 0xffu, (w >> 16u) & 0xffu, w >> 24u); }

// weight() and weight2() on top of the type's weight4(), for the kernels' paths that read elements one or two at a
// time (quantized rows are whole blocks, so K is a multiple of 32 and the 4-wide path is the one that runs).
fn weight(i: u32) -> f32 { return weight4(i >> 2u)[i & 3u]; }
fn weight2(p: u32) -> vec2<f32> {
  let v = weight4(p >> 1u);
  return select(v.xy, v.zw, (p & 1u) == 1u);
}
