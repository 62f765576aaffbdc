/**
 * The transformer forward pass on the GPU, recorded into one Step: T new tokens (of one sequence or of a whole batch)
 * at the given positions, their K/V stored and attended by an AttentionBackend (the engine's paged cache: dense,
 * dense with PLAS key sums, or PLAS; engine/runner/), logits out for the rows that need them. Residual adds are fused into the RMSNorm
 * that follows them; activations are step-scoped scratch tensors, allocated once per step and reused by every layer.
 * Weights may be float or quantized and the large ones split across buffers: linear() and embedding() dispatch on the
 * weight's dtype and parts, so a Q4_K_M model (q4_k and q6_k tensors, tied or not) runs through the same pass.
 */

import { embedding } from '../gpu/kernels/embedding.ts';
import { linear } from '../gpu/kernels/matmul-quant.ts';
import { rmsnorm } from '../gpu/kernels/rmsnorm.ts';
import { rope } from '../gpu/kernels/rope.ts';
import { swiglu } from '../gpu/kernels/swiglu.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelDims } from './dims.ts';
import type { LayerTensors, ModelTensors } from './model-tensors.ts';

/** A view of the same buffer with another shape of the same element count (a reshape, no copy). */
export function view(t: Tensor, shape: number[]): Tensor {
  return { ...t, shape };
}

/** Stores a layer's new K/V and computes attention over the cache: the part that differs between caches. */
export interface AttentionBackend {
  /**
   * q: f32 [T, heads, D]; k, v: f32 [T, kvHeads, D] (post-RoPE) of the new tokens; out: f32 [T, heads, D].
   * Store k and v in the cache, then attend.
   */
  record(step: Step, layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor): void;
}

/**
 * Activations of one forward pass, allocated once per step and reused by every layer: dispatches in a step run in
 * order, so layer l+1 may overwrite what layer l no longer needs.
 */
interface Activations {
  normed: Tensor; // [T, H]
  residualA: Tensor; // [T, H]
  residualB: Tensor; // [T, H]
  q: Tensor; // [T, heads*D]
  k: Tensor; // [T, kvHeads*D]
  v: Tensor; // [T, kvHeads*D]
  qNormed?: Tensor; // [T*heads, D]
  kNormed?: Tensor; // [T*kvHeads, D]
  attn: Tensor; // [T, heads, D]
  attnOut: Tensor; // [T, H]
  gate: Tensor; // [T, I]
  up: Tensor; // [T, I]
  act: Tensor; // [T, I]
  mlpOut: Tensor; // [T, H]
}

function allocateActivations(step: Step, d: ModelDims, T: number, qkNorm: boolean): Activations {
  const H = d.hidden;
  const qDim = d.heads * d.headDim;
  const kvDim = d.kvHeads * d.headDim;
  const f = (shape: number[], label: string) => step.scratch('f32', shape, label);
  return {
    normed: f([T, H], 'normed'),
    residualA: f([T, H], 'residual a'),
    residualB: f([T, H], 'residual b'),
    q: f([T, qDim], 'q'),
    k: f([T, kvDim], 'k'),
    v: f([T, kvDim], 'v'),
    ...(qkNorm
      ? { qNormed: f([T * d.heads, d.headDim], 'q normed'), kNormed: f([T * d.kvHeads, d.headDim], 'k normed') }
      : {}),
    attn: f([T, d.heads, d.headDim], 'attn'),
    attnOut: f([T, H], 'attn out'),
    gate: f([T, d.intermediate], 'gate'),
    up: f([T, d.intermediate], 'up'),
    act: f([T, d.intermediate], 'act'),
    mlpOut: f([T, H], 'mlp out'),
  };
}

function recordAttention(
  step: Step,
  d: ModelDims,
  w: LayerTensors<Tensor>,
  attention: AttentionBackend,
  layer: number,
  a: Activations,
  positions: Tensor, // u32 [T]
): Tensor {
  const normed = a.normed;
  const T = normed.shape[0];
  const qDim = d.heads * d.headDim;
  let q = a.q;
  let k = a.k;
  const v = a.v;
  linear(step, { x: normed, weight: w.q, out: q, ...(w.qBias ? { bias: w.qBias } : {}) });
  linear(step, { x: normed, weight: w.k, out: k, ...(w.kBias ? { bias: w.kBias } : {}) });
  linear(step, { x: normed, weight: w.v, out: v, ...(w.vBias ? { bias: w.vBias } : {}) });
  if (w.qNorm && w.kNorm && a.qNormed && a.kNormed) {
    // Qwen3: RMSNorm over each head's D values, before RoPE.
    const qn = a.qNormed;
    const kn = a.kNormed;
    rmsnorm(step, { x: view(q, [T * d.heads, d.headDim]), weight: w.qNorm, out: qn, eps: d.rmsNormEps });
    rmsnorm(step, { x: view(k, [T * d.kvHeads, d.headDim]), weight: w.kNorm, out: kn, eps: d.rmsNormEps });
    q = qn;
    k = kn;
  }
  const q3 = view(q, [T, d.heads, d.headDim]);
  const k3 = view(k, [T, d.kvHeads, d.headDim]);
  rope(step, { x: q3, positions, config: d.rope });
  rope(step, { x: k3, positions, config: d.rope });
  const attn = a.attn;
  attention.record(step, layer, q3, k3, view(v, [T, d.kvHeads, d.headDim]), attn);
  linear(step, { x: view(attn, [T, qDim]), weight: w.o, out: a.attnOut });
  return a.attnOut;
}

function recordMlp(step: Step, w: LayerTensors<Tensor>, a: Activations): Tensor {
  linear(step, { x: a.normed, weight: w.gate, out: a.gate });
  linear(step, { x: a.normed, weight: w.up, out: a.up });
  swiglu(step, { gate: a.gate, up: a.up, out: a.act });
  linear(step, { x: a.act, weight: w.down, out: a.mlpOut });
  return a.mlpOut;
}

/**
 * Record the forward pass of `ids` (u32 [T]) at `positions` (u32 [T]) and return the logits of the rows listed in
 * `logitRows` (indices into the T tokens, e.g. the last token of each sequence that samples): f32 [R, V], a scratch
 * tensor of this step, so read or sample it within the same step; null when no row is asked for.
 */
export function recordForward(
  step: Step,
  d: ModelDims,
  w: ModelTensors<Tensor>,
  attention: AttentionBackend,
  ids: Tensor,
  positions: Tensor,
  logitRows: readonly number[],
): Tensor | null {
  const T = ids.shape[0];
  const H = d.hidden;
  const a = allocateActivations(
    step,
    d,
    T,
    w.layers.some((l) => l.qNorm !== undefined),
  );
  // The residual stream ping-pongs between two buffers: the fused norm reads one and writes the other.
  let residual = a.residualA;
  let spare = a.residualB;
  const normed = a.normed;
  embedding(step, { ids, table: w.embed, out: residual });
  let pending: Tensor | null = null; // the sub-layer output not yet added to the residual stream

  const addAndNorm = (weight: Tensor) => {
    if (pending) {
      rmsnorm(step, { x: pending, residual, residualOut: spare, weight, out: normed, eps: d.rmsNormEps });
      [residual, spare] = [spare, residual];
    } else {
      rmsnorm(step, { x: residual, weight, out: normed, eps: d.rmsNormEps });
    }
  };

  w.layers.forEach((layer, l) => {
    addAndNorm(layer.inputNorm);
    pending = recordAttention(step, d, layer, attention, l, a, positions);
    addAndNorm(layer.postAttentionNorm);
    pending = recordMlp(step, layer, a);
  });
  // Only the sampled rows need logits: gather them, then one (small) product with the LM head. A step of prefill chunks
  // that sample nothing stops here: the K/V it wrote is all it produces.
  const R = logitRows.length;
  if (R === 0) return null;
  addAndNorm(w.norm);
  const rows = step.scratch('f32', [R, H], 'logit rows');
  logitRows.forEach((row, i) => {
    if (!Number.isInteger(row) || row < 0 || row >= T) throw new Error(`logit row ${row} is outside the ${T} tokens`);
    step.copy(
      { buffer: normed.buffer, offset: row * H * 4, size: H * 4 },
      { buffer: rows.buffer, offset: i * H * 4, size: H * 4 },
    );
  });
  const logits = step.scratch('f32', [R, d.vocab], 'logits');
  linear(step, { x: rows, weight: w.lmHead, out: logits });
  return logits;
}
