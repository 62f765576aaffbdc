/**
 * Real PLAS gate-score rows from a model: runs a token sequence through the model's own forward pass (dense paged
 * attention, attention-capture.ts) and, for chosen query positions, computes every head's block scores
 * s[b] = q . Kc[b] as plas_block_scores.wgsl does (Kc = the block's mean key, or the learned gate's weighted sum).
 * What the top-k selection works on, captured from a real model rather than drawn from a distribution: the shapes
 * (attention-sink outliers, a hot recent block, long flat tails) that decide whether the binary search lands in range.
 *
 * Rows are scored as a decode step at that position sees them: blocks 0 ..= floor(pos / blockSize), the last one
 * holding keys up to pos only.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { ModelDims } from '../model/dims.ts';
import type { LoadedModel } from '../model/load-model.ts';
import { type CapturedLayer, captureQueriesAndKeys } from './attention-capture.ts';

export interface ScoreRow {
  layer: number;
  head: number;
  /** Query position; the row has floor(position / blockSize) + 1 candidate blocks. */
  position: number;
  /** f32 scores of blocks 0 ..= floor(position / blockSize). */
  scores: Float32Array;
}

export interface ScoreCaptureOptions {
  blockSize: number;
  /** Query positions to score (each with every layer and head); each < the token count. */
  positions: readonly number[];
  /** Per layer: the learned gate f32 [kvHeads, blockSize, D] (gate-weights.ts), or null for mean pooling. */
  gates?: readonly (Float32Array | null)[];
}

/** Block-score rows of every layer and head at `o.positions` of `tokenIds`, in (position, layer, head) order. */
export async function captureScoreRows(
  gpu: Gpu,
  model: LoadedModel,
  tokenIds: readonly number[],
  o: ScoreCaptureOptions,
): Promise<ScoreRow[]> {
  checkPositions(o.positions, tokenIds.length);
  return scoreRows(await captureQueriesAndKeys(gpu, model, tokenIds), model.dims, o);
}

function checkPositions(positions: readonly number[], tokens: number): void {
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 0 || p >= tokens)
      throw new RangeError(`position ${p} is outside the ${tokens} tokens`);
  }
}

/** The rows of `captureScoreRows` from an already captured sequence (one capture, several poolings). */
export function scoreRows(captured: readonly CapturedLayer[], dims: ModelDims, o: ScoreCaptureOptions): ScoreRow[] {
  const { heads, kvHeads, headDim: D } = dims;
  const B = o.blockSize;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`blockSize must be a positive integer, got ${B}`);
  checkPositions(o.positions, captured[0].q.length / (heads * D));
  const group = heads / kvHeads;
  const rows: ScoreRow[] = [];
  for (const pos of o.positions) {
    const nb = Math.floor(pos / B) + 1;
    for (const [layer, { q, k }] of captured.entries()) {
      const gate = o.gates?.[layer] ?? null;
      // Kc [nb, kvHeads, D] over keys 0 ..= pos.
      const kc = new Float64Array(nb * kvHeads * D);
      for (let t = 0; t <= pos; t++) {
        const b = Math.floor(t / B);
        const present = Math.min(B, pos + 1 - b * B);
        for (let h = 0; h < kvHeads; h++) {
          for (let d = 0; d < D; d++) {
            const key = k[(t * kvHeads + h) * D + d];
            kc[(b * kvHeads + h) * D + d] += gate ? gate[(h * B + (t % B)) * D + d] * key : key / present;
          }
        }
      }
      for (let head = 0; head < heads; head++) {
        const kvh = Math.floor(head / group);
        const scores = new Float32Array(nb);
        for (let b = 0; b < nb; b++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(pos * heads + head) * D + d] * kc[(b * kvHeads + kvh) * D + d];
          scores[b] = dot;
        }
        rows.push({ layer, head, position: pos, scores });
      }
    }
  }
  return rows;
}
