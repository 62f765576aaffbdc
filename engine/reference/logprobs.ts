/**
 * TypeScript twin of shaders/logprobs.wgsl: per row, log_softmax (temperature 1) of the processed logits at the
 * sampled token and at the row's top N tokens, most likely first.
 *
 * Definition: logits are sanitised (NaN -> -inf, +inf -> the largest f32) and ranked by (f32 bit-pattern order
 * descending, id ascending), the rank order argmax and sampling use (engine/reference/sampling.ts). With m the largest
 * finite logit and S = sum over finite logits of exp(l - m), logprob(l) = (l - m) - ln S, and -inf for a -inf logit
 * (also when no logit is finite). The top list has min(N, V) entries; a sampled id >= V has logprob NaN.
 * Math here is f64 (the kernel's f32 agrees to ~1e-5 relative); ranks are exact integers on both sides.
 */
import type { TokenLogprob } from '../serving/types.ts';
import { orderKey, sanitizeLogit } from './sampling.ts';

const F32_MAX = 3.4028234663852886e38;

/** logits: [rows, vocab]; sampled: [rows] -> the sampled token's logprob and the top `topN` of each row. */
export function logprobs(
  logits: Float32Array,
  rows: number,
  vocab: number,
  sampled: ArrayLike<number>,
  topN: number,
): TokenLogprob[] {
  const result: TokenLogprob[] = [];
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    const l = Array.from(row, sanitizeLogit);
    let m = -F32_MAX;
    for (const v of l) if (v > m) m = v;
    let s = 0;
    for (const v of l) if (v !== Number.NEGATIVE_INFINITY) s += Math.exp(v - m);
    const logSum = Math.log(s);
    // f32 results, as the kernel stores them: a gap past the f32 range (-3e38 below 3e38) is -inf on both sides.
    const lp = (v: number) => (v === Number.NEGATIVE_INFINITY ? v : Math.fround(v - m - logSum));
    const t = sampled[r];
    const top = topOf(l, topN).map((i) => ({ id: i, logprob: lp(l[i]) }));
    result.push({ id: t, logprob: t < vocab ? lp(l[t]) : Number.NaN, top });
  }
  return result;
}

/** Ids of the n best of one sanitised row in rank order, by insertion into a list of n (no sort of the row). */
function topOf(l: number[], n: number): number[] {
  const keys: number[] = [];
  const ids: number[] = [];
  for (let i = 0; i < l.length && n > 0; i++) {
    const k = orderKey(l[i]);
    if (keys.length === n && k <= keys[n - 1]) continue; // a tie loses to the lower id already held
    let pos = Math.min(keys.length, n - 1);
    if (keys.length < n) {
      keys.push(0);
      ids.push(0);
    }
    while (pos > 0 && keys[pos - 1] < k) {
      keys[pos] = keys[pos - 1];
      ids[pos] = ids[pos - 1];
      pos--;
    }
    keys[pos] = k;
    ids[pos] = i;
  }
  return ids;
}
