/**
 * The block formats: dequantize() on hand-built blocks whose values follow from ggml's layout by hand, and
 * quantize() -> dequantize() round trips within per-type error bounds (measured, see QUANT_ERROR).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f32ToF16Bits } from '../../../engine/gpu/dtype.ts';
import { dequantize } from '../../../engine/quant/dequantize.ts';
import { nearestInt, quantize } from '../../../engine/quant/quantize.ts';
import { QUANT_BLOCKS, QUANT_TYPES, type QuantType } from '../../../engine/quant/types.ts';
import { Rng } from '../../helpers/random.ts';

function f16(b: Uint8Array, at: number, value: number): void {
  const bits = f32ToF16Bits(value);
  b[at] = bits & 0xff;
  b[at + 1] = bits >> 8;
}

/** Packs 8 six-bit scales and mins as ggml's get_scale_min_k4 reads them. */
function packScalesMins(b: Uint8Array, at: number, sc: number[], m: number[]): void {
  for (let j = 0; j < 4; j++) {
    b[at + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    b[at + j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
    b[at + j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
}

describe('dequantize hand-built blocks', () => {
  it('q8_0: d = 0.5, codes j - 16', () => {
    const b = new Uint8Array(34);
    f16(b, 0, 0.5);
    for (let j = 0; j < 32; j++) b[2 + j] = (j - 16) & 0xff;
    const w = dequantize('q8_0', b, 1, 32);
    for (let j = 0; j < 32; j++) assert.equal(w[j], 0.5 * (j - 16), `weight ${j}`);
  });

  it('q4_0: d = 2, low nibble j, high nibble 15 - j', () => {
    const b = new Uint8Array(18);
    f16(b, 0, 2);
    for (let j = 0; j < 16; j++) b[2 + j] = j | ((15 - j) << 4);
    const w = dequantize('q4_0', b, 1, 32);
    for (let j = 0; j < 16; j++) {
      assert.equal(w[j], 2 * (j - 8));
      assert.equal(w[j + 16], 2 * (15 - j - 8));
    }
  });

  const sc = [1, 2, 3, 4, 33, 45, 50, 63];
  const mins = [0, 5, 10, 15, 20, 37, 48, 62];

  it('q4_k: d = 1, dmin = 0.5, six-bit scales and mins incl. high bits', () => {
    const b = new Uint8Array(144);
    f16(b, 0, 1);
    f16(b, 2, 0.5);
    packScalesMins(b, 4, sc, mins);
    for (let i = 0; i < 128; i++) b[16 + i] = (i % 16) | ((15 - (i % 16)) << 4);
    const w = dequantize('q4_k', b, 1, 256);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const lo = l % 16;
        const hi = 15 - lo;
        assert.equal(w[64 * c + l], sc[2 * c] * lo - 0.5 * mins[2 * c], `weight ${64 * c + l}`);
        assert.equal(w[64 * c + 32 + l], sc[2 * c + 1] * hi - 0.5 * mins[2 * c + 1], `weight ${64 * c + 32 + l}`);
      }
    }
  });

  it('q5_k: as q4_k plus the fifth bit from qh', () => {
    const b = new Uint8Array(176);
    f16(b, 0, 0.25);
    f16(b, 2, 1);
    packScalesMins(b, 4, sc, mins);
    for (let l = 0; l < 32; l++) b[16 + l] = (l * 37) & 0xff; // qh
    for (let i = 0; i < 128; i++) b[48 + i] = (i % 16) | ((i % 7) << 4);
    const w = dequantize('q5_k', b, 1, 256);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const i = 32 * c + l;
        const qh = (l * 37) & 0xff;
        const lo = (i % 16) + (qh & (1 << (2 * c)) ? 16 : 0);
        const hi = (i % 7) + (qh & (2 << (2 * c)) ? 16 : 0);
        assert.equal(w[64 * c + l], 0.25 * sc[2 * c] * lo - mins[2 * c]);
        assert.equal(w[64 * c + 32 + l], 0.25 * sc[2 * c + 1] * hi - mins[2 * c + 1]);
      }
    }
  });

  it('q6_k: d = 0.125, signed scales, 4 + 2 bit codes minus 32', () => {
    const b = new Uint8Array(210);
    for (let i = 0; i < 128; i++) b[i] = (i % 16) | (((i * 3) % 16) << 4); // ql
    for (let i = 0; i < 64; i++) b[128 + i] = (i * 29) & 0xff; // qh
    const scales = Array.from({ length: 16 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1));
    scales.forEach((s, i) => {
      b[192 + i] = s & 0xff;
    });
    f16(b, 208, 0.125);
    const w = dequantize('q6_k', b, 1, 256);
    for (let n = 0; n < 256; n++) {
      const h = n >> 7; // which 128-weight half
      const r = n & 127;
      const quarter = r >> 5; // q1..q4
      const l = r & 31;
      const qlByte = b[64 * h + l + (quarter & 1 ? 32 : 0)];
      const low = quarter < 2 ? qlByte & 15 : qlByte >> 4;
      const high = (b[128 + 32 * h + l] >> (2 * quarter)) & 3;
      const scale = scales[8 * h + (l >> 4) + 2 * quarter];
      assert.equal(w[n], 0.125 * scale * ((low | (high << 4)) - 32), `weight ${n}`);
    }
  });

  it('rejects too few bytes and rows that are not whole blocks', () => {
    assert.throws(() => dequantize('q4_k', new Uint8Array(143), 1, 256), /needs 144 bytes/);
    assert.throws(() => dequantize('q8_0', new Uint8Array(100), 1, 48), /multiple of 32/);
  });
});

/**
 * Measured on N(0, 1) data (seed 7, 8 x 1024 values): RMS error / RMS value q8_0 0.0055, q4_0 0.088, q4_k 0.072,
 * q5_k 0.036, q6_k 0.018 (the ordering llama.cpp reports). Bounds have ~25-35% margin.
 */
export const QUANT_ERROR: Record<QuantType, number> = {
  q8_0: 0.0075,
  q4_0: 0.12,
  q4_k: 0.095,
  q5_k: 0.047,
  q6_k: 0.025,
};

describe('quantize -> dequantize', () => {
  it('nearestInt rounds half to even as ggml', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6].map(nearestInt), [0, 2, 2, -0, -2, 2, -3]);
  });

  for (const type of QUANT_TYPES) {
    it(`${type}: relative RMS error within ${QUANT_ERROR[type]}`, () => {
      const rows = 8;
      const cols = 1024;
      const x = new Rng(7).normals(rows * cols);
      const bytes = quantize(type, x, rows, cols);
      assert.equal(bytes.byteLength, rows * (cols / QUANT_BLOCKS[type].blockElements) * QUANT_BLOCKS[type].blockBytes);
      const y = dequantize(type, bytes, rows, cols);
      let err = 0;
      let ref = 0;
      for (let i = 0; i < x.length; i++) {
        err += (x[i] - y[i]) ** 2;
        ref += x[i] ** 2;
      }
      const rel = Math.sqrt(err / ref);
      assert.ok(rel < QUANT_ERROR[type], `${type}: ${rel}`);
      assert.ok(rel > QUANT_ERROR[type] / 10, `${type}: ${rel} is suspiciously exact`);
      // Zeros stay zeros, and a constant row survives (scales of 0 must not give NaN).
      const z = dequantize(type, quantize(type, new Float32Array(256), 1, 256), 1, 256);
      assert.ok(z.every((v) => v === 0));
      const c = dequantize(type, quantize(type, new Float32Array(256).fill(0.75), 1, 256), 1, 256);
      assert.ok(
        c.every((v) => Math.abs(v - 0.75) < 0.75 * 0.1),
        `${type} constant row: ${c[0]}`,
      );
    });
  }
});
