/**
 * TypeScript twins of shaders/argmax.wgsl, shaders/softmax.wgsl and shaders/sample.wgsl, and the definition of
 * sampling that the GPU kernel implements without sorting.
 *
 * Definition, per row (the GPU follows it step by step; here it is written with a sort):
 * 1. Logits are sanitised (NaN -> -inf, +inf -> the largest f32) and ordered by (logit descending, index ascending),
 *    comparing logits by their f32 bit patterns (so +0 ranks above -0). This total order is "rank".
 * 2. temperature <= 0, or every logit -inf: the token is the argmax (lowest index among equal maxima).
 * 3. Each token gets a weight w = exp(max((l - l_max) * invT, -200)) in f32 (w = 1 for l = l_max, 0 for -inf) and an
 *    integer mass q = floor(w * 2^32) (2^32 for w = 1). Masses are exact integers (row sums < 2^51), so every sum is
 *    the same in any order: the GPU can add them with atomics and still agree with this sort-based twin. Tokens with
 *    w < 2^-32 (p below 2^-32 of the top token's) have mass 0 and are never drawn.
 * 4. top-k (k > 0): keep ranks < k. Z_k = mass of the kept ranks.
 * 5. top-p (p < 1): p24 = trunc(p * 2^24); theta = ceil(p24 * Z_k / 2^24); keep ranks <= the first rank whose
 *    cumulative mass >= theta (at least rank 0).
 * 6. min-p (m > 0): keep only as many leading ranks as there are tokens with w >= m (w_max = 1, so this is
 *    p >= m * p_max). The kept set is the shortest of the three prefixes; Z is its mass.
 * 7. Draw: r24 = min(trunc(random * 2^24), 2^24 - 1); target = floor(r24 * Z / 2^24); the token is the first rank
 *    whose cumulative mass > target (inverse CDF in descending-probability order).
 * The GPU computes exp with its own rounding, so its q may differ from this twin's by a few units in the last f32 place;
 * a choice can then differ only where a cumulative mass lands within that much of a threshold (near-ties).
 */
import { SAMPLING_PARAM, SAMPLING_PARAMS_STRIDE } from '../generation/sampling-layout.ts';

const F32_MAX = 3.4028234663852886e38;
const TWO32 = 2 ** 32;
const TWO24 = 2 ** 24;
const f = Math.fround;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function sanitizeLogit(x: number): number {
  if (Number.isNaN(x)) return Number.NEGATIVE_INFINITY;
  return x === Number.POSITIVE_INFINITY ? F32_MAX : x;
}

/** Monotone u32 key of an f32: larger key = larger value; +0 > -0. */
export function orderKey(x: number): number {
  f32[0] = x;
  const b = u32[0];
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

/** Token indices of one row in rank order: logit descending (by orderKey), index ascending. */
export function rankOrder(row: Float32Array): Uint32Array {
  const keys = Array.from(row, (x) => orderKey(sanitizeLogit(x)));
  const order = Uint32Array.from(row, (_, i) => i);
  return order.sort((a, b) => keys[b] - keys[a] || a - b);
}

export function argmaxRow(row: Float32Array): number {
  let best = 0;
  let bestKey = -1;
  for (let i = 0; i < row.length; i++) {
    const k = orderKey(sanitizeLogit(row[i]));
    if (k > bestKey) {
      bestKey = k;
      best = i;
    }
  }
  return best;
}

/** logits: [rows, vocab] -> the argmax of each row (lowest index wins ties). */
export function argmax(logits: Float32Array, rows: number, vocab: number): Uint32Array {
  const out = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = argmaxRow(logits.subarray(r * vocab, (r + 1) * vocab));
  return out;
}

/** softmax(x * f32(1 / temperature)) per row; -inf gives 0, a row of only -inf gives zeros. */
export function softmax(x: Float32Array, rows: number, vocab: number, temperature = 1): Float32Array {
  const invT = f(1 / temperature);
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const y = Array.from(x.subarray(r * vocab, (r + 1) * vocab), (v) => f(sanitizeLogit(v) * invT));
    let m = -F32_MAX;
    for (const v of y) if (v > m) m = v;
    let s = 0;
    for (const v of y) if (v !== Number.NEGATIVE_INFINITY) s += Math.exp(v - m);
    for (let i = 0; i < vocab; i++) {
      out[r * vocab + i] = s > 0 && y[i] !== Number.NEGATIVE_INFINITY ? Math.exp(y[i] - m) / s : 0;
    }
  }
  return out;
}

/** One row's parameters as the kernel reads them (f32 values from the packed array). */
export interface PackedSamplingRow {
  temperature: number;
  invTemperature: number;
  topK: number;
  topP: number;
  minP: number;
  random: number;
}

export function readPackedRow(params: Float32Array, row: number): PackedSamplingRow {
  const p = (field: keyof typeof SAMPLING_PARAM) => params[row * SAMPLING_PARAMS_STRIDE + SAMPLING_PARAM[field]];
  return {
    temperature: p('temperature'),
    invTemperature: p('invTemperature'),
    topK: p('topK'),
    topP: p('topP'),
    minP: p('minP'),
    random: p('random'),
  };
}

/** floor (or ceil) of a * b / 2^24 for integers a < 2^53, b <= 2^24, exactly. */
function mulShr24(a: number, b: number, ceil: boolean): number {
  const product = BigInt(a) * BigInt(b);
  const shifted = (product + (ceil ? BigInt(TWO24 - 1) : 0n)) >> 24n;
  return Number(shifted);
}

export interface SamplingDistribution {
  /** Token ids that may be drawn, in draw (rank) order. */
  tokens: Uint32Array;
  /** Their integer masses (step 3); probability = mass / total. */
  mass: Float64Array;
  total: number;
}

/** Steps 1-6 of the definition for one row with temperature > 0: the tokens that can be drawn and their masses. */
export function samplingDistribution(row: Float32Array, p: PackedSamplingRow): SamplingDistribution {
  const vocab = row.length;
  const order = rankOrder(row);
  const lmax = sanitizeLogit(row[order[0]]);
  const weights = new Float64Array(vocab);
  const mass = new Float64Array(vocab); // by rank
  for (let j = 0; j < vocab; j++) {
    const l = sanitizeLogit(row[order[j]]);
    let w = 0;
    if (l !== Number.NEGATIVE_INFINITY) {
      const x = Math.max(f(f(l - lmax) * p.invTemperature), -200);
      w = x === 0 ? 1 : f(Math.exp(x));
    }
    weights[j] = w;
    mass[j] = w >= 1 ? TWO32 : Math.floor(w * TWO32);
  }
  const prefix = (n: number) => {
    let s = 0;
    for (let j = 0; j < n; j++) s += mass[j];
    return s;
  };
  const nK = p.topK > 0 ? Math.min(Math.trunc(p.topK), vocab) : vocab;
  const zK = prefix(nK);
  let nP = nK;
  let zP = zK;
  const p24 = Math.trunc(f(p.topP) * TWO24);
  if (p24 < TWO24) {
    const theta = mulShr24(zK, p24, true);
    nP = 1;
    zP = mass[0];
    if (theta > 0) {
      let cum = 0;
      for (let j = 0; j < nK; j++) {
        cum += mass[j];
        if (cum >= theta) {
          nP = j + 1;
          zP = cum;
          break;
        }
      }
    }
  }
  let nMin = vocab;
  let zMin = 0;
  if (p.minP > 0) {
    nMin = 0;
    for (let j = 0; j < vocab; j++) {
      if (weights[j] >= f(p.minP)) {
        nMin++;
        zMin += mass[j];
      }
    }
  }
  let n = nP;
  let z = zP;
  if (nK < n) [n, z] = [nK, zK];
  if (nMin < n) [n, z] = [nMin, zMin];
  return { tokens: order.slice(0, n), mass: mass.slice(0, n), total: z };
}

/** The token one row draws (step 7). */
export function sampleRow(row: Float32Array, p: PackedSamplingRow): number {
  const best = argmaxRow(row);
  if (!(p.temperature > 0) || sanitizeLogit(row[best]) === Number.NEGATIVE_INFINITY) return best;
  const d = samplingDistribution(row, p);
  const r24 = Math.min(Math.trunc(f(p.random) * TWO24), TWO24 - 1);
  const target = mulShr24(d.total, r24, false);
  let cum = 0;
  for (let j = 0; j < d.tokens.length; j++) {
    cum += d.mass[j];
    if (cum > target) return d.tokens[j];
  }
  return d.tokens[d.tokens.length - 1];
}

/** logits: [rows, vocab]; params: [rows, SAMPLING_PARAMS_STRIDE] as writeSamplingParams packs them. */
export function sample(logits: Float32Array, rows: number, vocab: number, params: Float32Array): Uint32Array {
  const out = new Uint32Array(rows);
  for (let r = 0; r < rows; r++)
    out[r] = sampleRow(logits.subarray(r * vocab, (r + 1) * vocab), readPackedRow(params, r));
  return out;
}
