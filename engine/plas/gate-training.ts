/**
 * `plas gate train` behind the command line: capture queries and keys of token windows with the real model, build
 * each layer's distillation problem (gate-distill.ts), train its gate, and report loss and block recall before
 * (mean pooling) and after, on the training rows and on held-out windows.
 *
 * A host that trains beside other work (the app's server runs it while it serves) gets structured progress
 * (`onProgress`) and can stop it (`signal`): the training yields to the event loop every few milliseconds, checks the
 * signal at each step and window, and then rejects with the signal's reason, having returned no weights.
 */
import { SamplingRng } from '../generation/rng.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { LoadedModel } from '../model/load-model.ts';
import { captureQueriesAndKeys } from './attention-capture.ts';
import {
  addSequence,
  type Evaluation,
  evaluateGate,
  GateAdam,
  type LayerProblem,
  meanPoolingGate,
} from './gate-distill.ts';

/** Where a training is: capturing a window's attention, or training a layer's gate (step of steps, its loss). */
export type GateTrainingProgress =
  | { phase: 'capture'; window: number; windows: number }
  | { phase: 'train'; layer: number; layers: number; step: number; steps: number; loss: number };

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
  /** Called after each captured window and each Adam step (window and layer are 1-based here, as shown). */
  onProgress?: (progress: GateTrainingProgress) => void;
  /** Aborting stops the training at the next step or window; distilGate then rejects with the signal's reason. */
  signal?: AbortSignal;
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
  const signal = o.signal;
  for (const [w, ids] of windows.entries()) {
    signal?.throwIfAborted();
    const captured = await captureQueriesAndKeys(gpu, model, ids);
    captured.forEach((layer, l) => {
      addSequence(w < trainCount ? train[l] : held[l], layer, ids.length, o.queriesPerWindow ?? 128, rng);
    });
    log(`captured window ${w + 1}/${windows.length} (${ids.length} tokens)`);
    o.onProgress?.({ phase: 'capture', window: w + 1, windows: windows.length });
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
    const steps = o.steps ?? 300;
    const W = await trainGateYielding(train[l], init, { steps, lr, recallFraction }, signal, (step, loss) =>
      o.onProgress?.({ phase: 'train', layer: l + 1, layers: d.numLayers, step, steps, loss }),
    );
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
  signal?.throwIfAborted(); // a cancel during the last layer still returns nothing
  return { weights, layers, trainWindows: trainCount, holdoutWindows: holdout };
}

/** How long the Adam loop runs before it lets the event loop in (a server's requests, a cancel). */
const SLICE_MS = 30;

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * trainGate (gate-distill.ts) for a host: the same GateAdam steps, but it yields every SLICE_MS so the host stays
 * responsive during a layer that takes minutes, and checks `signal` at every step.
 */
export async function trainGateYielding(
  problem: LayerProblem,
  init: Float32Array,
  o: { steps: number; lr: number; recallFraction: number },
  signal?: AbortSignal,
  onStep: (step: number, loss: number) => void = () => {},
): Promise<Float32Array> {
  const adam = new GateAdam(problem, init, o);
  let sliceStart = performance.now();
  for (let step = 1; step <= o.steps; step++) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
    signal?.throwIfAborted();
    onStep(step, adam.step());
  }
  return adam.W;
}
