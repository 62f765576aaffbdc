/**
 * The per-request logit processing of a step after the penalties: token masks (grammar, min_tokens) and logit bias,
 * applied on the GPU by one kernel (shaders/logit_mask.wgsl). Nothing is uploaded for rows without a mask or bias:
 * a batch of plain requests records no dispatch at all.
 */
import { applyLogitMask, NO_MASK } from '../gpu/kernels/logit-mask.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';

export interface LogitRow {
  logitBias?: ReadonlyMap<number, number>;
  mask?: Uint32Array | null;
}

/** logits: f32 [B, V], row i for rows[i]; modified in place. */
export function recordLogitProcessing(step: Step, logits: Tensor, rows: readonly LogitRow[]): void {
  const [B, V] = logits.shape;
  const words = Math.ceil(V / 32);
  const masked = rows.filter((r) => r.mask);
  const biased = rows.some((r) => r.logitBias && r.logitBias.size > 0);
  if (masked.length === 0 && !biased) return;
  const gpu = step.gpu;
  let masks: Tensor | undefined;
  let maskRows: Tensor | undefined;
  if (masked.length > 0) {
    const index = new Uint32Array(B).fill(NO_MASK);
    const packed = new Uint32Array(masked.length * words); // u32 [M, W]
    let m = 0;
    rows.forEach((r, i) => {
      if (!r.mask) return;
      if (r.mask.length !== words)
        throw new Error(`a token mask has ${r.mask.length} words; ${V} tokens need ${words}`);
      packed.set(r.mask, m * words);
      index[i] = m++;
    });
    masks = step.scratch('u32', [masked.length, words], 'token masks');
    gpu.writeBytes(masks, new Uint8Array(packed.buffer));
    maskRows = step.scratch('u32', [B], 'token mask rows');
    gpu.writeBytes(maskRows, new Uint8Array(index.buffer));
  }
  let bias: Tensor | undefined;
  if (biased) {
    const entries: number[] = []; // u32 [E, 3]: (row, token, f32 bits of the bias)
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    rows.forEach((r, i) => {
      for (const [token, b] of r.logitBias ?? []) {
        f[0] = b;
        entries.push(i, token, u[0]);
      }
    });
    bias = step.scratch('u32', [entries.length / 3, 3], 'logit bias');
    gpu.writeBytes(bias, new Uint8Array(Uint32Array.from(entries).buffer));
  }
  applyLogitMask(step, { logits, ...(masks && maskRows ? { masks, maskRows } : {}), ...(bias ? { bias } : {}) });
}
