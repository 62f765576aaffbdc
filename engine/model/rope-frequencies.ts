/**
 * Rotary position embedding's configuration and inverse frequencies: part of the model (Hugging Face's rope_init_fn),
 * not of a kernel. The GPU launcher (engine/gpu/kernels/rope.ts) uploads them once; the twin (engine/reference/rope.ts)
 * rotates with them; neither imports the other.
 *
 * Inverse frequencies follow Hugging Face transformers (modeling_rope_utils.py) operation by operation in f32, as
 * torch computes them: _compute_default_rope_parameters, _compute_linear_scaling_rope_parameters (inv_freq / factor,
 * the same as positions / factor) and _compute_llama3_parameters.
 */

export interface RopeConfig {
  headDim: number;
  /** Rotate the first rotaryDim dimensions of each head (default headDim; even). */
  rotaryDim?: number;
  /** rope_theta */
  theta: number;
  /**
   * neox: pairs (i, i + rotaryDim/2) (Llama/Qwen in Hugging Face); interleaved: pairs (2i, 2i+1) (GPT-J, GGUF llama).
   */
  style: 'neox' | 'interleaved';
  scaling?:
    | { type: 'linear'; factor: number }
    | {
        type: 'llama3';
        factor: number;
        lowFreqFactor: number;
        highFreqFactor: number;
        originalMaxPositionEmbeddings: number;
      };
}

const f = Math.fround;

/** Why a config is unusable, or null. The launcher turns this into a KernelArgumentError. */
export function ropeConfigProblem(config: RopeConfig): string | null {
  const rot = config.rotaryDim ?? config.headDim;
  if (!Number.isInteger(config.headDim) || config.headDim < 2)
    return `headDim must be an integer >= 2, got ${config.headDim}`;
  if (!Number.isInteger(rot) || rot < 2 || rot % 2 !== 0 || rot > config.headDim)
    return `rotaryDim must be even and in [2, headDim=${config.headDim}], got ${rot}`;
  if (!(config.theta > 0) || !Number.isFinite(config.theta))
    return `theta must be a positive number, got ${config.theta}`;
  if (config.style !== 'neox' && config.style !== 'interleaved')
    return `style must be 'neox' or 'interleaved', got ${String(config.style)}`;
  const s = config.scaling;
  if (s) {
    if (!(s.factor > 0) || !Number.isFinite(s.factor))
      return `scaling.factor must be a positive number, got ${s.factor}`;
    if (s.type === 'llama3') {
      if (!(s.highFreqFactor > s.lowFreqFactor) || !(s.lowFreqFactor > 0))
        return `llama3 scaling needs 0 < lowFreqFactor < highFreqFactor, got ${s.lowFreqFactor}, ${s.highFreqFactor}`;
      if (!(s.originalMaxPositionEmbeddings > 0))
        return `llama3 scaling needs originalMaxPositionEmbeddings > 0, got ${s.originalMaxPositionEmbeddings}`;
    } else if (s.type !== 'linear') {
      return `scaling.type must be 'linear' or 'llama3', got ${String((s as { type: unknown }).type)}`;
    }
  }
  return null;
}

/** inv_freq[i] for i in [0, rotaryDim / 2), in f32 exactly as transformers computes it. */
export function ropeInverseFrequencies(config: RopeConfig): Float32Array {
  const problem = ropeConfigProblem(config);
  if (problem) throw new RangeError(`rope: ${problem}`);
  const dim = config.rotaryDim ?? config.headDim;
  const half = dim / 2;
  const inv = new Float32Array(half);
  // 1.0 / (base ** (arange(0, dim, 2).float() / dim))
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(f(config.theta) ** f((2 * i) / dim)));
  const s = config.scaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f(inv[i] / f(s.factor));
  } else if (s?.type === 'llama3') {
    const factor = f(s.factor);
    const oldContext = s.originalMaxPositionEmbeddings;
    const lowFreqWavelen = f(oldContext / s.lowFreqFactor); // python floats, compared against an f32 tensor
    const highFreqWavelen = f(oldContext / s.highFreqFactor);
    const twoPi = f(2 * Math.PI);
    for (let i = 0; i < half; i++) {
      const wavelen = f(twoPi / inv[i]);
      const llama = wavelen > lowFreqWavelen ? f(inv[i] / factor) : inv[i];
      const smooth = f(f(f(f(oldContext) / wavelen) - f(s.lowFreqFactor)) / f(s.highFreqFactor - s.lowFreqFactor));
      const smoothed = f(f(f(f(1 - smooth) * llama) / factor) + f(smooth * llama));
      const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      inv[i] = medium ? smoothed : llama;
    }
  }
  return inv;
}
