// Weight reads for q6_k tensors (after quant_bytes.wgsl): super-blocks of 256 weights in 210 bytes (not word-aligned):
// ql 128 bytes @0, qh 64 bytes @128, 16 i8 scales @192, d f16 @208. Weight 128h + 32i + l (h < 2, i < 4, l < 32) has
// the low 4 bits from ql[64h + 32(i & 1) + l] (low nibble for i < 2, high for i >= 2), the top 2 bits from bits 2i of
// qh[32h + l], and scale scales[8h + l / 16 + 2i]: w = d * scale * (code - 32) (ggml's dequantize_row_q6_K).

// Bytes a .. a + 3 for an even a (every q6_k read: blocks are 210 bytes, so a block starts 0 or 2 bytes into a word,
// and every field sits at a multiple of 4 from its block's start). Both words are read and one is chosen, without a
// branch: neighbouring lanes read blocks of both alignments, and a branch on the alignment would run both sides. The
// second word may lie past the tensor for an aligned read at its very end; that value is never chosen (robust buffer
// access keeps the read itself safe).
fn qword_even(a: u32) -> u32 {
  let at = a >> 2u;
  let lo = weights[at];
  let hi = weights[at + 1u];
  return select(lo, (lo >> 16u) | (hi << 16u), (a & 2u) != 0u);
}

// Four 6-bit codes from the low nibbles of lo's bytes and the low 2 bits of hi's (both already shifted), assembled
// in the packed word first (one mask and one or for all four, rather than per lane).
fn codes4(lo: u32, hi: u32) -> vec4<u32> {
  return qbytes4((lo & 0x0f0f0f0fu) | ((hi & 0x03030303u) << 4u));
}

fn weight4(q: u32) -> vec4<f32> {
  let e = 4u * q;
  let r = e & 255u;
  let base = (e >> 8u) * 210u;
  let h = r >> 7u;
  let i = (r >> 5u) & 3u;
  let l = r & 31u;
  let lo = qword_even(base + 64u * h + 32u * (i & 1u) + l) >> (4u * (i >> 1u));
  let hi = qword_even(base + 128u + 32u * h + l) >> (2u * i);
  let codes = codes4(lo, hi);
  let s = base + 192u + 8u * h + (l >> 4u) + 2u * i;
  let scale = f32(bitcast<i32>(qbyte(s) << 24u) >> 24u);
  let d = qhalf(base + 208u) * scale;
  return (vec4<f32>(codes) - 32.0) * d;
}

// A 32-weight run (quarter i of half h) for matvec_rows_quant.wgsl: its two scales (weights l < 16 and l >= 16)
// decoded once; weights 4j .. 4j + 3 from bytes 4j .. 4j + 3 of its ql and qh ranges (any alignment).
struct Run { d0: f32, d1: f32, ql: u32, lshift: u32, qh: u32, hshift: u32 }
fn run_of(e: u32) -> Run {
  let r = e & 255u;
  let base = (e >> 8u) * 210u;
  let h = r >> 7u;
  let i = (r >> 5u) & 3u;
  let d = qhalf(base + 208u);
  let s = base + 192u + 8u * h + 2u * i;
  let s0 = f32(bitcast<i32>(qbyte(s) << 24u) >> 24u);
  let s1 = f32(bitcast<i32>(qbyte(s + 1u) << 24u) >> 24u);
  return Run(d * s0, d * s1, base + 64u * h + 32u * (i & 1u), 4u * (i >> 1u), base + 128u + 32u * h, 2u * i);
}
fn run_weight4(r: Run, j: u32) -> vec4<f32> {
  let codes = codes4(qword_even(r.ql + 4u * j) >> r.lshift, qword_even(r.qh + 4u * j) >> r.hshift);
  return (vec4<f32>(codes) - 32.0) * select(r.d0, r.d1, j >= 4u);
}
