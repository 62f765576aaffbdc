/**
 * Random but valid weights in ggml's block formats, made directly (no quantizer in the loop): the codes are random
 * bits, and each block's f16 scales (and K-quant 6-bit scales and mins) are chosen so the dequantized weights have
 * about the asked standard deviation and a mean near zero. For benchmark fixtures of real size: quantize.ts handles
 * about a million values a second, these about a hundred times more, so a 0.6B-parameter model is written in seconds.
 *
 * The values follow from the block layouts documented in dequantize.ts: w = d * sc * q - dmin * m (q4_k, q5_k; the
 * min is set to cancel the mean of q), w = d * sc * (q - 32) (q6_k), w = d * (q - 8) (q4_0), w = d * q (q8_0).
 */
import { f32ToF16Bits } from '../gpu/dtype.ts';
import { QUANT_BLOCKS, type QuantType, quantBytes } from './types.ts';

/** xorshift32: fast, seeded, plenty for random weights. */
export class Xorshift32 {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void {
    const words = Math.floor(out.length / 4);
    const u32 = new Uint32Array(out.buffer, out.byteOffset, words);
    if (out.byteOffset % 4 !== 0) throw new RangeError('Xorshift32.fill needs a 4-byte aligned array');
    for (let i = 0; i < words; i++) u32[i] = this.next();
    for (let i = words * 4; i < out.length; i++) out[i] = this.next() & 255;
  }
}

/** Standard deviation of uniform integer codes over [0, n): what the block scales are divided by. */
const uniformStd = (n: number) => Math.sqrt((n * n - 1) / 12);
/** The K-quant 6-bit scales are drawn from [SC_LO, 63]; their mean divides the super-block scale. */
const SC_LO = 32;
const SC_MEAN = (SC_LO + 63) / 2;

function setF16(b: Uint8Array, at: number, value: number): void {
  const h = f32ToF16Bits(value);
  b[at] = h & 255;
  b[at + 1] = h >> 8;
}

/** get_scale_min_k4's packing: 8 six-bit scales and 8 six-bit mins into 12 bytes at `at`. */
export function packScaleMinK4(b: Uint8Array, at: number, sc: ArrayLike<number>, m: ArrayLike<number>): void {
  for (let j = 0; j < 4; j++) {
    b[at + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    b[at + j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
    b[at + j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
}

/**
 * A [rows, cols] tensor of `type` with random codes and scales for weights of about `std` (and mean about 0).
 * Every block is valid: finite, normal-range f16 scales.
 */
export function randomQuantTensor(type: QuantType, rows: number, cols: number, std: number, seed: number): Uint8Array {
  const bytes = quantBytes(type, rows, cols);
  const out = new Uint8Array(new ArrayBuffer(Math.ceil(bytes / 4) * 4), 0, bytes);
  const rng = new Xorshift32(seed);
  rng.fill(out);
  const { blockBytes } = QUANT_BLOCKS[type];
  const blocks = bytes / blockBytes;
  const sc = new Uint8Array(8);
  const m = new Uint8Array(8);
  // Each block's scale varies a little (x0.75 to x1.25) around the one that gives `std`, as real blocks' do.
  const jitter = () => 0.75 + (rng.next() % 1024) / 2048;
  switch (type) {
    case 'q8_0':
      for (let i = 0; i < blocks; i++) setF16(out, i * blockBytes, (jitter() * std) / uniformStd(256));
      break;
    case 'q4_0':
      for (let i = 0; i < blocks; i++) setF16(out, i * blockBytes, (jitter() * std) / uniformStd(16));
      break;
    case 'q4_k':
    case 'q5_k': {
      // q in [0, levels): mean (levels - 1) / 2, cancelled by dmin * m with dmin = d * levels / 2.
      const levels = type === 'q4_k' ? 16 : 32;
      for (let i = 0; i < blocks; i++) {
        const at = i * blockBytes;
        const d = (jitter() * std) / (uniformStd(levels) * SC_MEAN);
        setF16(out, at, d);
        setF16(out, at + 2, (d * levels) / 2);
        for (let j = 0; j < 8; j++) {
          sc[j] = rng.int(SC_LO, 63);
          m[j] = Math.min(63, Math.round((sc[j] * (levels - 1)) / levels));
        }
        packScaleMinK4(out, at + 4, sc, m);
      }
      break;
    }
    case 'q6_k':
      for (let i = 0; i < blocks; i++) {
        const at = i * blockBytes;
        for (let j = 0; j < 16; j++) {
          const s = rng.int(SC_LO, 63);
          out[at + 192 + j] = rng.next() & 1 ? s : (256 - s) & 255; // i8, either sign
        }
        setF16(out, at + 208, (jitter() * std) / (uniformStd(64) * SC_MEAN));
      }
      break;
  }
  return out;
}

/** `count` f16 values ~ N(0, std^2) (drawn from a table of 4,096 normals: fast, and plenty random for a benchmark). */
export function randomF16Tensor(count: number, std: number, seed: number): Uint8Array {
  const rng = new Xorshift32(seed);
  const table = new Uint16Array(4096);
  for (let i = 0; i < table.length; i++) {
    const u = Math.max(rng.next() / 2 ** 32, 1e-12);
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * rng.next()) / 2 ** 32);
    table[i] = f32ToF16Bits(normal * std);
  }
  const out = new Uint16Array(count + (count & 1));
  const u32 = new Uint32Array(out.buffer);
  for (let i = 0; i < u32.length; i++) {
    const r = rng.next();
    u32[i] = table[r & 4095] | (table[(r >>> 12) & 4095] << 16);
  }
  return new Uint8Array(out.buffer, 0, count * 2);
}
