/**
 * How sampling parameters are packed for the GPU, one row of floats per sequence: the contract between
 * writeSamplingParams (engine/gpu/kernels/sampling.ts), shaders/sample*.wgsl and the twin (engine/reference/sampling.ts),
 * none of which imports another.
 */

/** Floats per row of the packed sampling parameters [B, SAMPLING_PARAMS_STRIDE]. */
export const SAMPLING_PARAMS_STRIDE = 8;
/** Where each parameter sits in a row; the remaining slots are reserved (zero). */
export const SAMPLING_PARAM = {
  /** 0 = greedy (argmax) */
  temperature: 0,
  /** f32(1 / temperature), 0 when greedy: the kernel and the twin scale logits by this same f32 value */
  invTemperature: 1,
  /** integer, 0 = off */
  topK: 2,
  /** (0, 1], 1 = off */
  topP: 3,
  /** [0, 1], 0 = off */
  minP: 4,
  /** uniform in [0, 1) */
  random: 5,
} as const;
