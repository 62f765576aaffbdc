/**
 * The TypeScript twin of shaders/rope.wgsl. The configuration and inverse frequencies it rotates with are the model's
 * (engine/model/rope-frequencies.ts), shared with the launcher as model data, not kernel code.
 */
import { type RopeConfig, ropeInverseFrequencies } from '../model/rope-frequencies.ts';

export type { RopeConfig } from '../model/rope-frequencies.ts';

const f = Math.fround;

/**
 * Rotate x: [T, heads, headDim] in place (a copy is returned) at positions [T]. The angle is f32(position) * inv_freq
 * rounded to f32, as transformers computes it; cos/sin are then taken in f64.
 */
export function rope(x: Float32Array, positions: ArrayLike<number>, heads: number, config: RopeConfig): Float32Array {
  const inv = ropeInverseFrequencies(config);
  const { headDim } = config;
  const half = inv.length;
  const out = Float32Array.from(x);
  for (let t = 0; t < positions.length; t++) {
    const pos = f(positions[t]);
    for (let i = 0; i < half; i++) {
      const angle = f(pos * inv[i]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const [j0, j1] = config.style === 'neox' ? [i, i + half] : [2 * i, 2 * i + 1];
      for (let h = 0; h < heads; h++) {
        const base = (t * heads + h) * headDim;
        const x0 = x[base + j0];
        const x1 = x[base + j1];
        out[base + j0] = x0 * c - x1 * s;
        out[base + j1] = x1 * c + x0 * s;
      }
    }
  }
  return out;
}
