/**
 * Gate distillation math (engine/plas/gate-distill.ts) on synthetic attention: the gradient matches finite
 * differences, and where one position of every block carries the keys queries look for, the learned gate finds that
 * position and beats mean pooling on held-out rows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CapturedLayer } from '../../../engine/plas/attention-capture.ts';
import {
  addSequence,
  type DistillShape,
  evaluateGate,
  type LayerProblem,
  meanPoolingGate,
  trainGate,
} from '../../../engine/plas/gate-distill.ts';
import { Rng } from '../../helpers/random.ts';

const shape: DistillShape = { heads: 2, kvHeads: 1, D: 8, blockSize: 16 };
const T = 16 * 12;
const SALIENT = 5; // the position in every block whose key matters

/** Small random keys, except a large one at SALIENT in each block; queries aim at one of the large keys. */
function sequence(rng: Rng): CapturedLayer {
  const { heads, kvHeads, D, blockSize: B } = shape;
  const k = new Float32Array(T * kvHeads * D);
  for (let t = 0; t < T; t++) {
    const scale = t % B === SALIENT ? 3 : 1.2;
    for (let d = 0; d < D; d++) k[t * D + d] = rng.normal() * scale;
  }
  const q = new Float32Array(T * heads * D);
  for (let t = 0; t < T; t++) {
    const aim = Math.floor(rng.next() * Math.max(1, Math.floor(t / B))) * B + SALIENT;
    for (let h = 0; h < heads; h++) {
      for (let d = 0; d < D; d++) q[(t * heads + h) * D + d] = 0.8 * k[aim * D + d] + 0.3 * rng.normal();
    }
  }
  return { q, k };
}

function problem(seed: number, sequences: number): LayerProblem {
  const rng = new Rng(seed);
  const p: LayerProblem = { shape, keys: [], rows: [] };
  for (let s = 0; s < sequences; s++) addSequence(p, sequence(rng), T, 32, rng);
  return p;
}

describe('PLAS gate distillation', () => {
  it('rows target only the candidate blocks, as a distribution', () => {
    const p = problem(1, 2);
    assert.ok(p.rows.length > 100);
    for (const r of p.rows) {
      assert.ok(r.target.length >= 2);
      const sum = r.target.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `target sums to ${sum}`);
    }
  });

  it('the gradient matches finite differences', () => {
    const p = problem(2, 1);
    const rng = new Rng(3);
    const W = meanPoolingGate(shape).map((w) => w * (1 + 0.5 * rng.normal()));
    const grad = new Float32Array(W.length);
    evaluateGate(p, W, 0.25, grad);
    const eps = 1e-3;
    for (let n = 0; n < 24; n++) {
      const i = Math.floor(rng.next() * W.length);
      const plus = W.slice();
      const minus = W.slice();
      plus[i] += eps;
      minus[i] -= eps;
      const numeric = (evaluateGate(p, plus, 0.25).loss - evaluateGate(p, minus, 0.25).loss) / (2 * eps);
      assert.ok(
        Math.abs(numeric - grad[i]) <= 2e-3 * Math.max(1e-3, Math.abs(numeric)) + 1e-5,
        `W[${i}]: analytic ${grad[i]}, numeric ${numeric}`,
      );
    }
  });

  it('learns the salient position and beats mean pooling on held-out rows', () => {
    const train = problem(4, 8);
    const held = problem(5, 4);
    const init = meanPoolingGate(shape);
    // Recall of the top block (k = 1): only the aimed-at block stands out in these targets.
    const before = evaluateGate(held, init, 0.01);
    const W = trainGate(train, init, { steps: 150, lr: 2e-3, recallFraction: 0.01 });
    const after = evaluateGate(held, W, 0.01);
    assert.ok(after.loss < 0.7 * before.loss, `held-out loss ${before.loss} -> ${after.loss}`);
    assert.ok(after.recall > before.recall + 0.1, `held-out recall ${before.recall} -> ${after.recall}`);
    const { D, blockSize: B } = shape;
    const weight = (p: number) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += Math.abs(W[p * D + d]);
      return s / D;
    };
    // The other positions grow too (a larger scale sharpens the predicted distribution), but less.
    const others = Array.from({ length: B }, (_, p) => p).filter((p) => p !== SALIENT);
    const meanOther = others.reduce((a, p) => a + weight(p), 0) / others.length;
    assert.ok(weight(SALIENT) > 1.5 * meanOther, `salient ${weight(SALIENT)} vs the others' mean ${meanOther}`);
    for (const p of others) assert.ok(weight(SALIENT) > weight(p), `position ${p} outweighs the salient one`);
  });
});
