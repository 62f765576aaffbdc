/**
 * Gate training as a server job: distils the PLAS gate of the LOADED model on the server's GPU with the weights already
 * there (a lease keeps the model loaded meanwhile), then writes the new gate next to the model's weights atomically:
 * the new file is written beside it and renamed over it, after the previous file is copied to `<gate>.bak`. A cancel
 * stops the training within a step and writes nothing; the gate in use changes only when the model is reloaded.
 */
import { access, copyFile, readFile, rename, rm } from 'node:fs/promises';
import { distilGate, type GateTrainingProgress } from '../../../engine/plas/gate-training.ts';
import { gateBlockSize, gateFileOf, writeGateWeights } from '../../../engine/plas/gate-weights.ts';
import {
  DEFAULT_GATE_TEXT,
  gateTrainingShape,
  type HeldOutSummary,
  heldOutSummary,
  planGateTraining,
} from '../../cli/gate/plan.ts';
import type { ModelLease } from '../context.ts';
import type { Agree, Same } from '../same-type.ts';
import type { JobContext } from './job-registry.ts';
import type { GateHeldOut, GateTrainProgress, GateTrainResult } from './job-types.ts';

export interface GateTrainOptions {
  tokens: number;
  steps: number;
  /** Tokens per window (default: min(2048, context, tokens / 2), at least 4 blocks and one token). */
  length?: number;
  queries: number;
  blockSize?: number;
  retrievalFraction: number;
  seed: number;
}

export const GATE_TRAIN_DEFAULTS = { tokens: 16384, steps: 200, queries: 128, retrievalFraction: 0.5, seed: 1 };

// What the job reports lives in an import-free file the renderer imports too; the held-out summary must be plan.ts's.
export type { GateTrainProgress, GateTrainResult } from './job-types.ts';

type _HeldOutAgrees = Agree<Same<HeldOutSummary, GateHeldOut>>;

/** The share of the job's time capturing takes (a forward pass per window, against steps x layers of Adam). */
const CAPTURE_SHARE = 0.25;
/** Progress events at most this often (one per Adam step would be thousands a second on a small model). */
const PROGRESS_EVERY_MS = 100;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The block size (the folder's gate's, else the one the engine runs now: what it will run the new gate with) and the
 * window length (default: min(2048, context, tokens / 2), at least 4 blocks and a token), checked; GatePlanError.
 */
export async function gateTrainingShapeFor(
  lease: ModelLease,
  o: Pick<GateTrainOptions, 'tokens' | 'length' | 'blockSize'>,
): Promise<{ blockSize: number; length: number }> {
  const { model, engine } = lease;
  const blockSize = o.blockSize ?? (await gateBlockSize(model.dir)) ?? engine.plasConfig.plas_block_size;
  const context = model.config.maxPositionEmbeddings;
  const length = o.length ?? Math.min(2048, context, Math.max(4 * blockSize + 1, Math.floor(o.tokens / 2)));
  return gateTrainingShape(model, { blockSize, length });
}

export async function runGateTraining(
  lease: ModelLease,
  gpu: Parameters<typeof distilGate>[0],
  o: GateTrainOptions,
  job: JobContext<GateTrainProgress>,
): Promise<GateTrainResult> {
  const started = performance.now();
  const { model } = lease;
  const elapsed = () => (performance.now() - started) / 1000;
  let lastSent = 0;
  const report = (p: Omit<GateTrainProgress, 'elapsedSeconds' | 'etaSeconds'>, force = false) => {
    const now = performance.now();
    if (!force && now - lastSent < PROGRESS_EVERY_MS) return;
    lastSent = now;
    const e = elapsed();
    job.progress({
      ...p,
      elapsedSeconds: e,
      etaSeconds: p.fraction > 0.02 ? (e * (1 - p.fraction)) / p.fraction : null,
    });
  };
  report({ phase: 'prepare', fraction: 0 }, true);

  const text = await readFile(DEFAULT_GATE_TEXT, 'utf8');
  const { blockSize, length } = await gateTrainingShapeFor(lease, o);
  const plan = await planGateTraining(model, text, {
    tokens: o.tokens,
    length,
    blockSize,
    retrievalFraction: o.retrievalFraction,
    seed: o.seed,
  });
  job.signal.throwIfAborted();

  const onProgress = (p: GateTrainingProgress) => {
    if (p.phase === 'capture') {
      const fraction = (CAPTURE_SHARE * p.window) / p.windows;
      report({ phase: 'capture', window: p.window, windows: p.windows, fraction }, p.window === p.windows);
    } else {
      const done = (p.layer - 1) * p.steps + p.step;
      const fraction = CAPTURE_SHARE + ((1 - CAPTURE_SHARE) * done) / (p.layers * p.steps);
      const { layer, layers, step, steps, loss } = p;
      report({ phase: 'train', layer, layers, step, steps, loss, fraction }, step === 1 || step === steps);
    }
  };
  const result = await distilGate(gpu, model, plan.windows, {
    blockSize: plan.blockSize,
    queriesPerWindow: o.queries,
    steps: o.steps,
    seed: o.seed,
    onProgress,
    signal: job.signal,
  });

  report({ phase: 'write', fraction: 1 }, true);
  const d = model.dims;
  const file = gateFileOf(model.dir); // the folder's gate, or <file>.gguf.plas-gate.safetensors beside a GGUF
  const fresh = `${file}.new`;
  await writeGateWeights(
    fresh,
    result.weights,
    { numLayers: d.numLayers, kvHeads: d.kvHeads, headDim: d.headDim, blockSize: plan.blockSize },
    {
      trained_by: 'PLAS Studio gate training',
      block_size: String(plan.blockSize),
      windows: String(plan.count),
      window_tokens: String(plan.length),
      data: 'gate-text.txt',
    },
    file, // written beside it, then renamed over it: the key-bound form to keep is the current file's
  );
  let backup: string | null = null;
  try {
    job.signal.throwIfAborted(); // the last moment a cancel still leaves the folder as it was
    if (await exists(file)) {
      backup = `${file}.bak`;
      await copyFile(file, backup);
    }
    await rename(fresh, file); // atomic: a reader sees the old gate or the new one, never a part
  } catch (error) {
    await rm(fresh, { force: true });
    throw error;
  }
  return {
    file,
    backup,
    blockSize: plan.blockSize,
    windows: { train: result.trainWindows, holdout: result.holdoutWindows, length: plan.length },
    heldOut: heldOutSummary(result),
    layers: result.layers.map((r) => ({
      layer: r.layer,
      lossBefore: r.before.holdout.loss,
      lossAfter: r.after.holdout.loss,
      recallBefore: r.before.holdout.recall,
      recallAfter: r.after.holdout.recall,
    })),
    seconds: elapsed(),
  };
}
