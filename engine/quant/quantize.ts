/**
 * Reference quantizers, ports of ggml's quantize_row_*_ref (ggml-quants.c): fixtures and tests quantize f32 weights
 * into exactly the block bytes a GGUF file of that type holds. Arithmetic follows ggml's order with f32 rounding at
 * the points that decide a code (Math.fround). q8_0 and q4_0 were checked byte for byte against gguf-py's quantizers
 * (which match ggml's); the K-quants follow ggml's make_qkx2_quants / make_qx_quants searches and may differ from
 * ggml in a rare last-bit tie. dequantize() is the part whose parity the engine relies on (checked bit for bit
 * against gguf-py's dequantizers for all five types).
 */
import { f16BitsToF32, f32ToF16Bits } from '../gpu/dtype.ts';
import { scaleMinK4 } from './dequantize.ts';
import { QUANT_BLOCKS, type QuantType, quantBytes } from './types.ts';

const f32 = Math.fround;
const GROUP_MAX_EPS = 1e-15;
/** make_qkx2_quants' trial codes (sub-blocks are at most 32 weights), reused across calls. */
const AUX = new Uint8Array(32);

/** ggml's nearest_int: round half to even (the float magic-number trick). */
export function nearestInt(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** C's roundf: half away from zero. */
function roundAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

function putF16(b: Uint8Array, at: number, value: number): number {
  const bits = f32ToF16Bits(value);
  b[at] = bits & 0xff;
  b[at + 1] = bits >> 8;
  return f16BitsToF32(bits);
}

type BlockEncoder = (x: Float32Array, xo: number, b: Uint8Array, at: number) => void;

function q8_0(x: Float32Array, xo: number, b: Uint8Array, at: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]));
  const d = f32(amax / 127);
  const id = d ? f32(1 / d) : 0;
  putF16(b, at, d);
  for (let j = 0; j < 32; j++) b[at + 2 + j] = roundAway(f32(x[xo + j] * id)) & 0xff;
}

function q4_0(x: Float32Array, xo: number, b: Uint8Array, at: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j];
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = f32(max / -8);
  const id = d ? f32(1 / d) : 0;
  putF16(b, at, d);
  // fmaf(x, id, 8.5f): ggml compiles x * id + 8.5f to one FMA (one f32 rounding, of the sum), as gguf-py mimics.
  for (let j = 0; j < 16; j++) {
    const q0 = Math.min(15, Math.trunc(f32(x[xo + j] * id + 8.5)));
    const q1 = Math.min(15, Math.trunc(f32(x[xo + 16 + j] * id + 8.5)));
    b[at + 2 + j] = q0 | (q1 << 4);
  }
}

/** make_qkx2_quants: codes L[0..n) in [0, nmax] and (scale, -min) of an affine fit, searched over nstep scales. */
function makeQkx2Quants(
  x: Float32Array,
  xo: number,
  n: number,
  nmax: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  rmin: number,
  rdelta: number,
  nstep: number,
): { scale: number; min: number } {
  let min = x[xo];
  let max = x[xo];
  let sumW = weights[0];
  let sumX = f32(sumW * x[xo]);
  for (let i = 1; i < n; i++) {
    const v = x[xo + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = f32(sumW + weights[i]);
    sumX = f32(sumX + f32(weights[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    return { scale: 0, min: -min };
  }
  let iscale = f32(nmax / f32(max - min));
  let scale = f32(1 / iscale);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const l = clamp(nearestInt(f32(iscale * f32(x[xo + i] - min))), 0, nmax);
    L[lo + i] = l;
    const diff = f32(f32(f32(scale * l) + min) - x[xo + i]);
    best = f32(best + f32(weights[i] * f32(diff * diff)));
  }
  const aux = AUX;
  for (let is = 0; is <= nstep; is++) {
    iscale = f32(f32(f32(rmin + f32(rdelta * is)) + nmax) / f32(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f32(iscale * f32(x[xo + i] - min))), 0, nmax);
      aux[i] = l;
      const w = weights[i];
      sumL = f32(sumL + f32(w * l));
      sumL2 = f32(sumL2 + f32(f32(w * l) * l));
      sumXL = f32(sumXL + f32(f32(w * l) * x[xo + i]));
    }
    const D = f32(f32(sumW * sumL2) - f32(sumL * sumL));
    if (D > 0) {
      let thisScale = f32(f32(f32(sumW * sumXL) - f32(sumX * sumL)) / D);
      let thisMin = f32(f32(f32(sumL2 * sumX) - f32(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f32(sumXL / sumL2);
      }
      let mad = 0;
      for (let i = 0; i < n; i++) {
        const diff = f32(f32(f32(thisScale * aux[i]) + thisMin) - x[xo + i]);
        mad = f32(mad + f32(weights[i] * f32(diff * diff)));
      }
      if (mad < best) {
        L.set(aux.subarray(0, n), lo);
        best = mad;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return { scale, min: -min };
}

/** q4_k and q5_k: 8 sub-blocks of 32 with an affine fit each, scales and mins packed to 6 bits. */
function kQuantWithMins(bits: 4 | 5): BlockEncoder {
  const nmax = bits === 4 ? 15 : 31;
  const rmin = bits === 4 ? -1 : -0.5;
  const nstep = bits === 4 ? 20 : 15;
  // Scratch reused by every block (quantize() runs one block at a time).
  const L = new Uint8Array(256);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  const weights = new Float32Array(32);
  return (x, xo, b, at) => {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f32(sumX2 + f32(x[xo + 32 * j + l] * x[xo + 32 * j + l]));
      const avX = f32(Math.sqrt(f32(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f32(avX + Math.abs(x[xo + 32 * j + l]));
      const fit = makeQkx2Quants(x, xo + 32 * j, 32, nmax, weights, L, 32 * j, rmin, 0.1, nstep);
      scales[j] = fit.scale;
      mins[j] = fit.min;
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    const invScale = maxScale > 0 ? f32(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f32(63 / maxMin) : 0;
    const sc = at + 4;
    b.fill(0, sc, sc + 12);
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f32(invScale * scales[j])) & 0xff);
      const lm = Math.min(63, nearestInt(f32(invMin * mins[j])) & 0xff);
      if (j < 4) {
        b[sc + j] = ls;
        b[sc + j + 4] = lm;
      } else {
        b[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        b[sc + j - 4] |= (ls >> 4) << 6;
        b[sc + j] |= (lm >> 4) << 6;
      }
    }
    const d = putF16(b, at, f32(maxScale / 63));
    const dmin = putF16(b, at + 2, f32(maxMin / 63));
    for (let j = 0; j < 8; j++) {
      const [s, m] = scaleMinK4(b, sc, j);
      const dj = f32(d * s);
      if (!dj) continue;
      const dm = f32(dmin * m);
      for (let i = 0; i < 32; i++) L[32 * j + i] = clamp(nearestInt(f32(f32(x[xo + 32 * j + i] + dm) / dj)), 0, nmax);
    }
    if (bits === 4) {
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) b[at + 16 + 32 * c + l] = L[64 * c + l] | (L[64 * c + 32 + l] << 4);
      }
      return;
    }
    const qh = at + 16;
    const ql = at + 48;
    b.fill(0, qh, qh + 32);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        let l1 = L[64 * c + l];
        let l2 = L[64 * c + 32 + l];
        if (l1 > 15) {
          l1 -= 16;
          b[qh + l] |= 1 << (2 * c);
        }
        if (l2 > 15) {
          l2 -= 16;
          b[qh + l] |= 2 << (2 * c);
        }
        b[ql + 32 * c + l] = l1 | (l2 << 4);
      }
    }
  };
}

/** make_qx_quants with rmse_type 1 (weights x^2): symmetric codes in [-nmax, nmax) and their scale. */
function makeQxQuants(x: Float32Array, xo: number, n: number, nmax: number, L: Int8Array, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const codes = (iscale: number) => {
    let sumlx = 0;
    let suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i];
      const l = clamp(nearestInt(f32(iscale * v)), -nmax, nmax - 1);
      const w = f32(v * v);
      sumlx = f32(sumlx + f32(f32(w * v) * l));
      suml2 = f32(suml2 + f32(f32(w * l) * l));
    }
    return { sumlx, suml2 };
  };
  const setL = (iscale: number) => {
    for (let i = 0; i < n; i++) L[lo + i] = nmax + clamp(nearestInt(f32(iscale * x[xo + i])), -nmax, nmax - 1);
  };
  let iscale = f32(-nmax / max);
  setL(iscale);
  let { sumlx, suml2 } = codes(iscale);
  let scale = suml2 ? f32(sumlx / suml2) : 0;
  let best = f32(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f32(-f32(nmax + f32(0.1 * is)) / max);
    ({ sumlx, suml2 } = codes(iscale));
    if (suml2 > 0 && f32(sumlx * sumlx) > f32(best * suml2)) {
      setL(iscale);
      scale = f32(sumlx / suml2);
      best = f32(scale * sumlx);
    }
  }
  return scale;
}

const Q6_L = new Int8Array(256);
const Q6_SCALES = new Float32Array(16);

function q6_k(x: Float32Array, xo: number, b: Uint8Array, at: number): void {
  const L = Q6_L;
  const scales = Q6_SCALES;
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let ib = 0; ib < 16; ib++) {
    const scale = makeQxQuants(x, xo + 16 * ib, 16, 32, L, 16 * ib);
    scales[ib] = scale;
    if (Math.abs(scale) > maxAbsScale) {
      maxAbsScale = Math.abs(scale);
      maxScale = scale;
    }
  }
  b.fill(0, at, at + 210);
  if (maxAbsScale < GROUP_MAX_EPS) return;
  const iscale = f32(-128 / maxScale);
  const d = putF16(b, at + 208, f32(1 / iscale));
  for (let ib = 0; ib < 16; ib++) b[at + 192 + ib] = Math.min(127, nearestInt(f32(iscale * scales[ib]))) & 0xff;
  for (let j = 0; j < 16; j++) {
    const dj = f32(d * ((b[at + 192 + j] << 24) >> 24));
    if (!dj) continue;
    for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(f32(x[xo + 16 * j + i] / dj)), -32, 31) + 32;
  }
  for (let h = 0; h < 2; h++) {
    const ql = at + 64 * h;
    const qh = at + 128 + 32 * h;
    const j = 128 * h;
    for (let l = 0; l < 32; l++) {
      const q1 = L[j + l] & 0xf;
      const q2 = L[j + l + 32] & 0xf;
      const q3 = L[j + l + 64] & 0xf;
      const q4 = L[j + l + 96] & 0xf;
      b[ql + l] = q1 | (q3 << 4);
      b[ql + l + 32] = q2 | (q4 << 4);
      b[qh + l] =
        (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
    }
  }
}

const ENCODERS: Record<QuantType, BlockEncoder> = {
  q8_0,
  q4_0,
  q4_k: kQuantWithMins(4),
  q5_k: kQuantWithMins(5),
  q6_k,
};

/** Quantize a [rows, cols] f32 tensor into ggml blocks of `type` (cols a multiple of the block's elements). */
export function quantize(type: QuantType, data: Float32Array, rows: number, cols: number): Uint8Array {
  if (data.length !== rows * cols) throw new RangeError(`quantize: ${data.length} values for [${rows}, ${cols}]`);
  const out = new Uint8Array(quantBytes(type, rows, cols));
  const { blockElements, blockBytes } = QUANT_BLOCKS[type];
  const encode = ENCODERS[type];
  const blocks = (rows * cols) / blockElements;
  for (let i = 0; i < blocks; i++) encode(data, i * blockElements, out, i * blockBytes);
  return out;
}
