/**
 * `plas gate train` behind the command line: capture queries and keys of token windows with the real model, build
 * each layer's distillation problem (gate-distill.ts), train its gate, and report loss and block recall before
 * (mean pooling) and after, on the training rows and on held-out windows.
 */
import { SamplingRng } from '../generation/rng.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { LoadedModel } from '../model/load-model.ts';
import { captureQueriesAndKeys } from './attention-capture.ts';
import {
  addSequence,
  type Evaluation,
  evaluateGate,
  type LayerProblem,
  meanPoolingGate,
  trainGate,
} from './gate-distill.ts';

export interface GateTrainingOptions {
  blockSize: number;
  /** Sampled query positions per window (each with all its heads). Default 128. */
  queriesPerWindow?: number;
  /** Adam steps per layer. Default 300. */
  steps?: number;
  /** Default 2e-3 / blockSize: W starts at 1 / blockSize. */
  lr?: number;
  /** Recall is measured at k = ceil(fraction x candidate blocks). Default 0.25. */
  recallFraction?: number;
  /** Share of the windows held out for the before/after report. Default 0.25 (at least one window). */
  holdoutFraction?: number;
  seed?: number;
  log?: (message: string) => void;
}

export interface LayerReport {
  layer: number;
  before: { train: Evaluation; holdout: Evaluation };
  after: { train: Evaluation; holdout: Evaluation };
}

export interface GateTrainingResult {
  /** Per layer: f32 [kvHeads, blockSize, D]. */
  weights: Float32Array[];
  layers: LayerReport[];
  trainWindows: number;
  holdoutWindows: number;
}

export async function distilGate(
  gpu: Gpu,
  model: LoadedModel,
  windows: readonly (readonly number[])[],
  o: GateTrainingOptions,
): Promise<GateTrainingResult> {
  const d = model.dims;
  const shape = { heads: d.heads, kvHeads: d.kvHeads, D: d.headDim, blockSize: o.blockSize };
  const log = o.log ?? (() => {});
  const rng = new SamplingRng(o.seed ?? 1);
  const holdout = Math.max(1, Math.round(windows.length * (o.holdoutFraction ?? 0.25)));
  if (windows.length < 2) throw new RangeError(`gate training needs at least 2 windows (got ${windows.length})`);
  const trainCount = windows.length - holdout;
  const empty = (): LayerProblem => ({ shape, keys: [], rows: [] });
  const train = Array.from({ length: d.numLayers }, empty);
  const held = Array.from({ length: d.numLayers }, empty);
  for (const [w, ids] of windows.entries()) {
    const captured = await captureQueriesAndKeys(gpu, model, ids);
    captured.forEach((layer, l) => {
      addSequence(w < trainCount ? train[l] : held[l], layer, ids.length, o.queriesPerWindow ?? 128, rng);
    });
    log(`captured window ${w + 1}/${windows.length} (${ids.length} tokens)`);
  }
  if (train[0].rows.length === 0) {
    throw new RangeError(
      `no window is long enough: a query needs at least ${4 * o.blockSize} tokens before it (4 blocks of ${o.blockSize})`,
    );
  }
  const recallFraction = o.recallFraction ?? 0.25;
  const lr = o.lr ?? 2e-3 / o.blockSize;
  const weights: Float32Array[] = [];
  const layers: LayerReport[] = [];
  for (let l = 0; l < d.numLayers; l++) {
    const init = meanPoolingGate(shape);
    const before = {
      train: evaluateGate(train[l], init, recallFraction),
      holdout: evaluateGate(held[l], init, recallFraction),
    };
    const W = trainGate(train[l], init, { steps: o.steps ?? 300, lr, recallFraction });
    const after = {
      train: evaluateGate(train[l], W, recallFraction),
      holdout: evaluateGate(held[l], W, recallFraction),
    };
    log(
      `layer ${l}: loss ${before.holdout.loss.toFixed(4)} -> ${after.holdout.loss.toFixed(4)}, ` +
        `recall ${before.holdout.recall.toFixed(3)} -> ${after.holdout.recall.toFixed(3)} (held out)`,
    );
    weights.push(W);
    layers.push({ layer: l, before, after });
  }
  return { weights, layers, trainWindows: trainCount, holdoutWindows: holdout };
}
