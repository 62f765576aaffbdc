/**
 * TypeScript twin of shaders/logit_mask.wgsl (see its header for the definition). logits: f32 [B, V], in place.
 * A disallowed token's logit becomes -inf; each bias entry is added (in f32) to an allowed token's logit.
 */

/** maskRows value of a row without a mask. */
export const NO_MASK = 0xffffffff;

export interface LogitBiasEntry {
  row: number;
  token: number;
  /** Already clamped to [-100, 100] by the caller. */
  bias: number;
}

/**
 * maskRows: u32 [B], each row's index into `masks` or NO_MASK (an index >= M counts as none); masks: u32 [M, W] with
 * W = ceil(V / 32), bit set = allowed. Entries naming a row >= B or a token >= V are skipped.
 */
export function applyLogitMask(
  logits: Float32Array,
  vocab: number,
  maskRows: Uint32Array | null,
  masks: Uint32Array | null,
  bias: readonly LogitBiasEntry[],
): void {
  const rows = logits.length / vocab;
  const words = Math.ceil(vocab / 32);
  const count = masks ? masks.length / words : 0;
  const maskOf = (row: number) => {
    const m = maskRows ? maskRows[row] : NO_MASK;
    return m < count ? m : -1;
  };
  const allowed = (m: number, token: number) => ((masks![m * words + (token >>> 5)] >>> (token & 31)) & 1) === 1;
  for (let row = 0; row < rows; row++) {
    const m = maskOf(row);
    if (m < 0) continue;
    for (let t = 0; t < vocab; t++) if (!allowed(m, t)) logits[row * vocab + t] = Number.NEGATIVE_INFINITY;
  }
  for (const e of bias) {
    if (e.row >= rows || e.token >= vocab) continue;
    const m = maskOf(e.row);
    if (m >= 0 && !allowed(m, e.token)) continue;
    const i = e.row * vocab + e.token;
    logits[i] = Math.fround(logits[i] + Math.fround(e.bias));
  }
}
