/**
 * What a gate training runs on, shared by `plas gate train` and the server's gate-training job: the block size to
 * learn for, the window length and count (the keys of every window stay in memory, so their number is capped), the
 * token windows themselves, and the held-out summary both report.
 */
import { join } from 'node:path';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { GateTrainingResult } from '../../../engine/plas/gate-training.ts';
import { gateBlockSize } from '../../../engine/plas/gate-weights.ts';
import { RESOURCES } from '../default-model.ts';
import { gateWindows } from './windows.ts';

export const DEFAULT_GATE_TEXT = join(RESOURCES, 'text', 'gate-text.txt');

/** Keys of every window stay in memory for the gradient: at most this many bytes of them. */
const MAX_KEY_BYTES = 2 ** 31;

export type GatePlanField = 'tokens' | 'length' | 'blockSize';

/** A plan that cannot run; `field` names the option at fault (each host spells it its own way). */
export class GatePlanError extends Error {
  override name = 'GatePlanError';
  constructor(
    readonly field: GatePlanField,
    message: string,
  ) {
    super(message);
  }
}

export interface GatePlanInput {
  /** Tokens to distil on (lowered when their keys would take over 2 GiB). */
  tokens: number;
  /** Tokens per window (default: min(2048, the model's context)). */
  length?: number;
  /** Default: the folder's gate file's, else `fallbackBlockSize`, else 128. */
  blockSize?: number;
  fallbackBlockSize?: number;
  retrievalFraction: number;
  seed: number;
  /** How the host names each option in messages (e.g. `--block-size` on the command line). */
  label?: (field: GatePlanField) => string;
  log?: (message: string) => void;
}

export interface GatePlan {
  blockSize: number;
  length: number;
  count: number;
  tokens: number;
  windows: number[][];
}

/** The block size and window length a training would use, checked against the model; throws GatePlanError. */
export async function gateTrainingShape(
  model: LoadedModel,
  input: Pick<GatePlanInput, 'length' | 'blockSize' | 'fallbackBlockSize' | 'label'>,
): Promise<{ blockSize: number; length: number }> {
  const label = input.label ?? ((f: GatePlanField) => f);
  const blockSize = input.blockSize ?? (await gateBlockSize(model.dir)) ?? input.fallbackBlockSize ?? 128;
  if (!(Number.isInteger(blockSize) && blockSize >= 16 && blockSize <= 256 && (blockSize & (blockSize - 1)) === 0)) {
    throw new GatePlanError('blockSize', `${label('blockSize')} (${blockSize}) must be a power of two in [16, 256]`);
  }
  const context = model.config.maxPositionEmbeddings;
  const length = input.length ?? Math.min(2048, context);
  if (length > context) {
    throw new GatePlanError('length', `${label('length')} (${length}) exceeds the model's context (${context})`);
  }
  // A query needs 4 whole blocks before it to have blocks to rank (gate-distill.ts firstEligiblePosition).
  const shortest = 4 * blockSize + 1;
  if (length < shortest) {
    throw new GatePlanError(
      'length',
      `${label('length')} (${length}) is too short for blocks of ${blockSize}: a window needs at least ${shortest} tokens`,
    );
  }
  return { blockSize, length };
}

export async function planGateTraining(model: LoadedModel, text: string, input: GatePlanInput): Promise<GatePlan> {
  const label = input.label ?? ((f: GatePlanField) => f);
  const log = input.log ?? (() => {});
  const { blockSize, length } = await gateTrainingShape(model, input);
  const d = model.dims;
  const maxTokens = Math.floor(MAX_KEY_BYTES / (d.numLayers * d.kvHeads * d.headDim * 4));
  const tokens = Math.min(input.tokens, maxTokens);
  if (tokens < input.tokens) log(`${label('tokens')} lowered to ${tokens}: the keys of more would take over 2 GiB`);
  const count = Math.max(2, Math.floor(tokens / length));
  const windows = gateWindows(model.tokenizer, text, {
    length,
    count,
    retrievalFraction: input.retrievalFraction,
    seed: input.seed,
  });
  return { blockSize, length, count, tokens, windows };
}

export interface HeldOutSummary {
  lossBefore: number;
  lossAfter: number;
  recallBefore: number;
  recallAfter: number;
}

/** Loss and block recall on the held-out windows, before (mean pooling) and after, averaged over the layers. */
export function heldOutSummary(result: GateTrainingResult): HeldOutSummary {
  const mean = (pick: (r: GateTrainingResult['layers'][number]) => number) =>
    result.layers.reduce((a, r) => a + pick(r), 0) / result.layers.length;
  return {
    lossBefore: mean((r) => r.before.holdout.loss),
    lossAfter: mean((r) => r.after.holdout.loss),
    recallBefore: mean((r) => r.before.holdout.recall),
    recallAfter: mean((r) => r.after.holdout.recall),
  };
}
