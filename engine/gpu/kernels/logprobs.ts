/**
 * Launcher for shaders/logprobs.wgsl: per row, the sampled token's log-probability and the top N (0-20) alternatives
 * under log_softmax of the processed logits (temperature 1), computed on the GPU so that only
 * 4 * (1 + 2N) bytes a row come back, for the rows that asked. The twin is engine/reference/logprobs.ts.
 */
import type { TokenLogprob } from '../../serving/types.ts';
import { expect, expectDistinct, expectTensor, grid, nextPowerOfTwo } from '../check.ts';
import type { Step } from '../step.ts';
import type { Tensor } from '../tensor.ts';
import { uniformLayout } from '../uniforms.ts';

export const LOGPROBS_PARAMS = uniformLayout('logprobs', 'logprobs.wgsl', [
  ['rows', 'u32'],
  ['vocab', 'u32'],
  ['top_n', 'u32'],
  ['grid_x', 'u32'],
] as const);

/** Most alternatives a row can ask for (OpenAI's top_logprobs limit; TOPN_MAX in the shader). */
export const MAX_TOP_LOGPROBS = 20;
/** Ids are packed in 20 bits inside the kernel's select key. */
export const MAX_LOGPROBS_VOCAB = 2 ** 20;
/** Id the kernel writes for ranks past the vocabulary (topN > V); unpackLogprobs drops those pairs. */
const NO_TOKEN = 0xffffffff;

/** u32 words per row of the output: the sampled token's logprob, then topN (id, logprob) pairs. */
export function logprobsWords(topN: number): number {
  return 1 + 2 * topN;
}

export interface LogprobsArgs {
  /** f32 [B, V]: after penalties, bias and grammar mask, before temperature */
  logits: Tensor;
  /** u32 [B]: the token sampled for each row */
  sampled: Tensor;
  /** alternatives per row, 0..20; a batch uses the largest any of its rows asked for */
  topN: number;
  /** u32 [B, 1 + 2 * topN]: word 0 the sampled logprob (f32 bits), then topN (id, f32 bits) pairs, best first */
  out: Tensor;
}

export function logprobs(step: Step, a: LogprobsArgs): void {
  const kernel = 'logprobs';
  expectTensor(kernel, 'logits', a.logits, 'f32', ['B', 'V']);
  const [rows, vocab] = a.logits.shape;
  expect(
    kernel,
    vocab >= 1 && vocab <= MAX_LOGPROBS_VOCAB,
    () => `vocab must be in [1, ${MAX_LOGPROBS_VOCAB}], got ${vocab}`,
  );
  expect(
    kernel,
    Number.isInteger(a.topN) && a.topN >= 0 && a.topN <= MAX_TOP_LOGPROBS,
    () => `topN must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${a.topN}`,
  );
  expectTensor(kernel, 'sampled', a.sampled, 'u32', [rows]);
  expectTensor(kernel, 'out', a.out, 'u32', [rows, logprobsWords(a.topN)]);
  expectDistinct(kernel, { logits: a.logits, sampled: a.sampled, out: a.out });
  // Same sizing as softmax/argmax: about 4 logits a thread for small V, 256 threads from V = 1024.
  const wg = Math.min(256, Math.max(32, nextPowerOfTwo(Math.ceil(vocab / 4))));
  const [gx, gy] = grid(rows, step.gpu.limits.maxComputeWorkgroupsPerDimension);
  step.dispatch({
    kernel,
    pipeline: step.gpu.pipelines.get({
      kernel,
      file: 'logprobs.wgsl',
      libs: ['sample_keys.wgsl'],
      constants: { WG: wg },
    }),
    uniforms: LOGPROBS_PARAMS.pack({ rows, vocab, top_n: a.topN, grid_x: gx }),
    bindings: [a.logits, a.sampled, a.out],
    workgroups: [gx, gy],
  });
}

/**
 * Read-back words of `rows` rows ([rows, 1 + 2 * topN] u32, as the kernel writes them) -> one TokenLogprob a row.
 * The kernel does not echo the sampled ids, so the caller passes them (`sampled[r]` for row r, as it read them back).
 * `top` has min(topN, V) entries: pairs the kernel filled past the vocabulary are dropped. A row whose sampled id was
 * out of range has logprob NaN; masked tokens have -inf (the HTTP layer decides how to print that).
 */
export function unpackLogprobs(
  bytes: Uint8Array,
  rows: number,
  topN: number,
  sampled: ArrayLike<number>,
): TokenLogprob[] {
  const words = logprobsWords(topN);
  if (bytes.byteLength < rows * words * 4) {
    throw new RangeError(
      `unpackLogprobs: ${rows} rows of ${words} words need ${rows * words * 4} bytes, got ${bytes.byteLength}`,
    );
  }
  if (sampled.length < rows) throw new RangeError(`unpackLogprobs: ${rows} rows but ${sampled.length} sampled ids`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result: TokenLogprob[] = [];
  for (let r = 0; r < rows; r++) {
    const at = (w: number) => (r * words + w) * 4;
    const top: TokenLogprob['top'] = [];
    for (let k = 0; k < topN; k++) {
      const id = view.getUint32(at(1 + 2 * k), true);
      if (id === NO_TOKEN) break;
      top.push({ id, logprob: view.getFloat32(at(2 + 2 * k), true) });
    }
    result.push({ id: sampled[r], logprob: view.getFloat32(at(0), true), top });
  }
  return result;
}
