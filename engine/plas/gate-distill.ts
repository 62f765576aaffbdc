/**
 * Distillation of the PLAS gate (plas.md): for each layer, learn W [kvHeads, blockSize, D] so that the block scores
 * PLAS selects with, s[b] = q . Kc[b] with Kc[b, d] = sum_p W[h, p, d] * K[b*B + p, d], rank blocks as the model's
 * true attention does. Only W changes; the model's weights are untouched.
 *
 *   target  t[b] = max over the keys of block b of softmax(q K^T / sqrt(D)), normalised over the candidate blocks
 *   predict p[b] = softmax over the candidate blocks of s[b] / sqrt(D)
 *   loss    KL(t || p), averaged over (query, head) rows; minimised with Adam from W = 1/B (mean pooling).
 *
 * Rows are single queries ("tiles" of one): the engine selects blocks per query (prefill then unions the selections
 * of a tile), so the gate is trained on exactly the scores it is used with. Candidates are the blocks PLAS does not
 * keep anyway: block 0 (the attention sink), the query's own block and the one before it are always attended, so the
 * gate's job is to rank blocks 1 ..= own - 2, all of them complete.
 */
import type { CapturedLayer } from './attention-capture.ts';

export interface DistillShape {
  heads: number;
  kvHeads: number;
  D: number;
  blockSize: number;
}

/** One (query, head) training row. */
interface Row {
  seq: number;
  kvHead: number;
  /** f32 [D], the query (post-RoPE). */
  q: Float32Array;
  /** The target over candidate blocks 1 ..= candidates (index i is block i + 1). */
  target: Float32Array;
}

/** One layer's distillation data: the keys of each sequence and the sampled rows. */
export interface LayerProblem {
  shape: DistillShape;
  /** Per sequence: f32 [T, kvHeads, D] keys. */
  keys: Float32Array[];
  rows: Row[];
}

export interface Rng {
  next(): number;
}

/** The fewest candidate blocks a row needs to say anything about ranking. */
const MIN_CANDIDATES = 2;

/** Positions with at least MIN_CANDIDATES candidate blocks: own block >= MIN_CANDIDATES + 2. */
export function firstEligiblePosition(blockSize: number): number {
  return (MIN_CANDIDATES + 2) * blockSize;
}

/**
 * Add `queries` sampled positions of one captured sequence (all heads of each) to `problem`. The attention target
 * is computed here once, in f64; it does not depend on W.
 */
export function addSequence(problem: LayerProblem, layer: CapturedLayer, T: number, queries: number, rng: Rng): void {
  const { heads, kvHeads, D, blockSize: B } = problem.shape;
  const group = heads / kvHeads;
  const seq = problem.keys.length;
  problem.keys.push(layer.k);
  const first = firstEligiblePosition(B);
  if (T <= first) return;
  const scale = 1 / Math.sqrt(D);
  const logits = new Float64Array(T);
  for (let n = 0; n < queries; n++) {
    const pos = first + Math.floor(rng.next() * (T - first));
    const own = Math.floor(pos / B);
    const candidates = own - 2; // blocks 1 ..= own - 2
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      const qOff = (pos * heads + h) * D;
      let max = -Infinity;
      for (let j = 0; j <= pos; j++) {
        const kOff = (j * kvHeads + g) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += layer.q[qOff + d] * layer.k[kOff + d];
        logits[j] = dot * scale;
        if (logits[j] > max) max = logits[j];
      }
      let sum = 0;
      for (let j = 0; j <= pos; j++) sum += Math.exp(logits[j] - max);
      const target = new Float32Array(candidates);
      let total = 0;
      for (let i = 0; i < candidates; i++) {
        const b = i + 1;
        let peak = 0;
        for (let j = b * B; j < (b + 1) * B; j++) peak = Math.max(peak, Math.exp(logits[j] - max) / sum);
        target[i] = peak;
        total += peak;
      }
      if (!(total > 0)) continue;
      for (let i = 0; i < candidates; i++) target[i] /= total;
      problem.rows.push({ seq, kvHead: g, q: layer.q.slice(qOff, qOff + D), target });
    }
  }
}

/** W = 1/B everywhere: the learned gate's starting point, equal to mean pooling over complete blocks. */
export function meanPoolingGate(shape: DistillShape): Float32Array {
  return new Float32Array(shape.kvHeads * shape.blockSize * shape.D).fill(1 / shape.blockSize);
}

export interface Evaluation {
  /** Mean KL(t || p) over the rows. */
  loss: number;
  /**
   * Block recall: of the k blocks the true attention ranks highest (k = ceil(recallFraction x candidates)), the share
   * the gate's scores rank in their top k; mean over rows.
   */
  recall: number;
  rows: number;
}

/** Loss and recall of gate W on the problem; adds the gradient to `grad` when given. */
export function evaluateGate(
  problem: LayerProblem,
  W: Float32Array,
  recallFraction: number,
  grad?: Float32Array,
): Evaluation {
  const { kvHeads, D, blockSize: B } = problem.shape;
  const scale = 1 / Math.sqrt(D);
  const rows = problem.rows;
  if (rows.length === 0) return { loss: 0, recall: 1, rows: 0 };
  // Compressed keys of every complete block, per (sequence, kv head), computed once per evaluation.
  const kc = new Map<number, Float32Array>(); // key seq * kvHeads + g -> [blocks, D]
  const gradKc = grad ? new Map<number, Float64Array>() : null;
  const compressed = (seq: number, g: number): Float32Array => {
    const id = seq * kvHeads + g;
    let c = kc.get(id);
    if (c) return c;
    const K = problem.keys[seq];
    const blocks = Math.floor(K.length / (kvHeads * D) / B);
    c = new Float32Array(blocks * D);
    for (let b = 0; b < blocks; b++) {
      for (let p = 0; p < B; p++) {
        const kOff = ((b * B + p) * kvHeads + g) * D;
        const wOff = (g * B + p) * D;
        for (let d = 0; d < D; d++) c[b * D + d] += W[wOff + d] * K[kOff + d];
      }
    }
    kc.set(id, c);
    return c;
  };
  let loss = 0;
  let recall = 0;
  for (const row of rows) {
    const c = compressed(row.seq, row.kvHead);
    const n = row.target.length;
    const s = new Float64Array(n);
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const off = (i + 1) * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += row.q[d] * c[off + d];
      s[i] = dot;
      if (dot * scale > max) max = dot * scale;
    }
    let z = 0;
    for (let i = 0; i < n; i++) z += Math.exp(s[i] * scale - max);
    const logZ = Math.log(z) + max;
    let kl = 0;
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = Math.exp(s[i] * scale - logZ);
      const t = row.target[i];
      if (t > 0) kl += t * (Math.log(t) - (s[i] * scale - logZ));
    }
    loss += kl;
    recall += topkOverlap(row.target, s, Math.max(1, Math.ceil(recallFraction * n)));
    if (gradKc) {
      const id = row.seq * kvHeads + row.kvHead;
      let gk = gradKc.get(id);
      if (!gk) {
        gk = new Float64Array(c.length);
        gradKc.set(id, gk);
      }
      // d KL / d s[i] = (p[i] - t[i]) / sqrt(D); d s[i] / d Kc[i+1] = q.
      for (let i = 0; i < n; i++) {
        const coef = ((p[i] - row.target[i]) * scale) / rows.length;
        const off = (i + 1) * D;
        for (let d = 0; d < D; d++) gk[off + d] += coef * row.q[d];
      }
    }
  }
  if (grad && gradKc) {
    // d Kc[b, d] / d W[g, p, d] = K[b*B + p, g, d]
    for (const [id, gk] of gradKc) {
      const seq = Math.floor(id / kvHeads);
      const g = id % kvHeads;
      const K = problem.keys[seq];
      const blocks = gk.length / D;
      for (let b = 0; b < blocks; b++) {
        for (let p = 0; p < B; p++) {
          const kOff = ((b * B + p) * kvHeads + g) * D;
          const wOff = (g * B + p) * D;
          for (let d = 0; d < D; d++) grad[wOff + d] += gk[b * D + d] * K[kOff + d];
        }
      }
    }
  }
  return { loss: loss / rows.length, recall: recall / rows.length, rows: rows.length };
}

/** Of the k largest targets, the share that are among the k largest scores. */
function topkOverlap(target: Float32Array, scores: Float64Array, k: number): number {
  const order = (v: ArrayLike<number>) =>
    Array.from({ length: v.length }, (_, i) => i)
      .sort((a, b) => v[b] - v[a])
      .slice(0, k);
  const best = new Set(order(target));
  let hits = 0;
  for (const i of order(scores)) if (best.has(i)) hits++;
  return hits / k;
}

export interface AdamOptions {
  steps: number;
  lr: number;
  recallFraction: number;
  /** Called every few steps with the training loss. */
  onStep?: (step: number, loss: number) => void;
}

/**
 * Adam over one layer's W, a step at a time (full batch: every row each step). trainGate runs it to the end; a host
 * that must stay responsive (the app's server) runs the steps itself and yields between them (gate-training.ts).
 */
export class GateAdam {
  /** W as trained so far: [kvHeads, blockSize, D]. */
  readonly W: Float32Array;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private readonly grad: Float32Array;
  private t = 0;

  constructor(
    private readonly problem: LayerProblem,
    init: Float32Array,
    private readonly o: Pick<AdamOptions, 'lr' | 'recallFraction'>,
  ) {
    this.W = init.slice();
    this.m = new Float64Array(init.length);
    this.v = new Float64Array(init.length);
    this.grad = new Float32Array(init.length);
  }

  /** One Adam step; returns the loss at W before it. */
  step(): number {
    const [b1, b2, eps] = [0.9, 0.999, 1e-12];
    const { W, m, v, grad } = this;
    const t = ++this.t;
    grad.fill(0);
    const { loss } = evaluateGate(this.problem, W, this.o.recallFraction, grad);
    for (let i = 0; i < W.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * grad[i];
      v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
      const mh = m[i] / (1 - b1 ** t);
      const vh = v[i] / (1 - b2 ** t);
      W[i] -= (this.o.lr * mh) / (Math.sqrt(vh) + eps);
    }
    return loss;
  }
}

/** Minimise the loss over W with Adam for `steps` steps. Returns the trained W. */
export function trainGate(problem: LayerProblem, init: Float32Array, o: AdamOptions): Float32Array {
  const adam = new GateAdam(problem, init, o);
  for (let step = 1; step <= o.steps; step++) {
    const loss = adam.step(); // not inside o.onStep?.(...): an absent onStep would skip evaluating its arguments
    o.onStep?.(step, loss);
  }
  return adam.W;
}
