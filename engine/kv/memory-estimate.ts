/**
 * GPU memory a model needs at a context: its weights plus the KV cache (and the PLAS key sums) for that many tokens,
 * checked against the adapter's limits and a total budget BEFORE anything is allocated, with an error that says what
 * would fit (the longest context, in tokens). The engine (engine.ts) checks its KV pool with it; hosts (the CLI, the
 * server's model estimate) use the same numbers to explain what a model needs.
 */
import { kvBytesPerToken } from './kv-sizing.ts';
import type { KvDType } from './paged-layout.ts';

export interface MemoryShape {
  numLayers: number;
  kvHeads: number;
  headDim: number;
}

export interface MemoryEstimateInput {
  shape: MemoryShape;
  /** Bytes of the weights on the GPU. */
  weightBytes: number;
  dtype: KvDType;
  /** Tokens the KV cache must hold (all sequences together). */
  tokens: number;
  /** PLAS key sums and bounds kept: f32 [kvHeads, 3 * D] per page per layer. Default false. */
  keySums?: boolean;
  /** Tokens per page (the key sums are per page); default 64. */
  pageSize?: number;
}

export interface MemoryEstimate {
  weightBytes: number;
  kvBytesPerToken: number;
  kvBytes: number;
  keySumBytes: number;
  totalBytes: number;
  /** Bytes of the largest single buffer: one layer's K (or V) pool. */
  largestKvBufferBytes: number;
}

export function estimateMemory(input: MemoryEstimateInput): MemoryEstimate {
  const { shape, weightBytes, dtype, tokens } = input;
  const pageSize = input.pageSize ?? 64;
  const perToken = kvBytesPerToken(shape, dtype);
  const pages = Math.ceil(tokens / pageSize);
  const kvBytes = pages * pageSize * perToken;
  // Per page and kv head: the key sums (D floats) and the key bounds (max and min: 2 * D).
  const keySumBytes = input.keySums ? pages * shape.numLayers * shape.kvHeads * 3 * shape.headDim * 4 : 0;
  return {
    weightBytes,
    kvBytesPerToken: perToken,
    kvBytes,
    keySumBytes,
    totalBytes: weightBytes + kvBytes + keySumBytes,
    largestKvBufferBytes: kvBytes / (2 * shape.numLayers),
  };
}

export interface MemoryLimits {
  /** min(maxStorageBufferBindingSize, maxBufferSize): each K or V layer buffer must fit it. */
  maxBindingBytes: number;
  /** Bytes the model may use in all on this GPU (weights + KV); absent: unchecked. */
  budgetBytes?: number;
}

export class MemoryFitError extends RangeError {
  override name = 'MemoryFitError';
  constructor(
    message: string,
    /** The longest context (tokens, a whole number of pages) that fits; 0 when not even one page fits. */
    readonly tokensThatFit: number,
  ) {
    super(message);
  }
}

const MiB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** The most tokens (whole pages) that fit both limits next to the weights. */
export function tokensThatFit(input: Omit<MemoryEstimateInput, 'tokens'>, limits: MemoryLimits): number {
  const pageSize = input.pageSize ?? 64;
  const one = estimateMemory({ ...input, tokens: pageSize });
  const perPage = one.kvBytes + one.keySumBytes;
  let pages = Math.floor(limits.maxBindingBytes / one.largestKvBufferBytes);
  if (limits.budgetBytes !== undefined) {
    pages = Math.min(pages, Math.floor(Math.max(0, limits.budgetBytes - input.weightBytes) / perPage));
  }
  return Math.max(0, pages) * pageSize;
}

/** Throws MemoryFitError, saying what fits, when the estimate is over the binding limit or the budget. */
export function checkMemoryFits(input: MemoryEstimateInput, limits: MemoryLimits): MemoryEstimate {
  const e = estimateMemory(input);
  const fit = () => tokensThatFit(input, limits);
  const what = `${input.tokens} tokens of ${input.dtype} KV cache (${e.kvBytesPerToken} bytes a token)`;
  if (e.largestKvBufferBytes > limits.maxBindingBytes) {
    const n = fit();
    throw new MemoryFitError(
      `${what} need ${mib(e.largestKvBufferBytes)} per layer for K (and as much for V), over this adapter's ` +
        `${mib(limits.maxBindingBytes)} binding limit: at most ${n} tokens fit` +
        (input.dtype === 'f32' ? ' (twice as many with an f16 KV cache)' : ''),
      n,
    );
  }
  if (limits.budgetBytes !== undefined && e.totalBytes > limits.budgetBytes) {
    const n = fit();
    throw new MemoryFitError(
      `weights (${mib(e.weightBytes)}) + ${what}: ${mib(e.kvBytes + e.keySumBytes)} make ${mib(e.totalBytes)}, ` +
        `over the ${mib(limits.budgetBytes)} memory budget: ` +
        (n > 0 ? `at most ${n} tokens fit` : 'the weights alone leave no room for one page of KV cache') +
        (input.dtype === 'f32' && n > 0 ? ' (about twice as many with an f16 KV cache)' : ''),
      n,
    );
  }
  return e;
}
