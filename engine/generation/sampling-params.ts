/**
 * What a request asks of the sampler and the stop logic, validated once at the edge (CLI flags, HTTP bodies) with
 * errors that name the field and the value.
 */

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 0 = off. */
  minP: number;
  /** 1 = off; > 1 discourages tokens already in prompt or output (Hugging Face semantics). */
  repetitionPenalty: number;
  /** OpenAI semantics, over the generated output; 0 = off. */
  presencePenalty: number;
  frequencyPenalty: number;
  /** Makes sampling reproducible; absent = a random seed per request. */
  seed?: number;
  maxTokens: number;
  /** Generation ends when the text contains one of these; it is not included in the output. */
  stop: string[];
  /** Generation ends at one of these token ids (in addition to the model's EOS unless ignoreEos). */
  stopTokenIds: number[];
  ignoreEos: boolean;
}

export const DEFAULT_SAMPLING: SamplingParams = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  maxTokens: 256,
  stop: [],
  stopTokenIds: [],
  ignoreEos: false,
};

export class SamplingParamsError extends Error {
  override name = 'SamplingParamsError';
}

function check(ok: boolean, field: string, value: unknown, rule: string): void {
  if (!ok) throw new SamplingParamsError(`${field} (${JSON.stringify(value)}) ${rule}`);
}

/** Fill defaults and validate; throws SamplingParamsError naming the first bad field. */
export function samplingParams(partial: Partial<SamplingParams> = {}): SamplingParams {
  const p: SamplingParams = { ...DEFAULT_SAMPLING, ...partial };
  const finite = (v: number) => typeof v === 'number' && Number.isFinite(v);
  check(
    finite(p.temperature) && p.temperature >= 0 && p.temperature <= 100,
    'temperature',
    p.temperature,
    'must be in [0, 100]',
  );
  check(Number.isInteger(p.topK) && p.topK >= 0, 'top_k', p.topK, 'must be an integer >= 0 (0 = off)');
  check(finite(p.topP) && p.topP > 0 && p.topP <= 1, 'top_p', p.topP, 'must be in (0, 1]');
  check(finite(p.minP) && p.minP >= 0 && p.minP <= 1, 'min_p', p.minP, 'must be in [0, 1]');
  check(
    finite(p.repetitionPenalty) && p.repetitionPenalty > 0 && p.repetitionPenalty <= 10,
    'repetition_penalty',
    p.repetitionPenalty,
    'must be in (0, 10]',
  );
  check(
    finite(p.presencePenalty) && Math.abs(p.presencePenalty) <= 2,
    'presence_penalty',
    p.presencePenalty,
    'must be in [-2, 2]',
  );
  check(
    finite(p.frequencyPenalty) && Math.abs(p.frequencyPenalty) <= 2,
    'frequency_penalty',
    p.frequencyPenalty,
    'must be in [-2, 2]',
  );
  check(
    p.seed === undefined || (Number.isInteger(p.seed) && p.seed >= 0 && p.seed < 2 ** 32),
    'seed',
    p.seed,
    'must be an integer in [0, 2^32)',
  );
  check(Number.isInteger(p.maxTokens) && p.maxTokens >= 1, 'max_tokens', p.maxTokens, 'must be an integer >= 1');
  check(
    Array.isArray(p.stop) && p.stop.length <= 16 && p.stop.every((s) => typeof s === 'string' && s.length > 0),
    'stop',
    p.stop,
    'must be at most 16 non-empty strings',
  );
  check(
    Array.isArray(p.stopTokenIds) && p.stopTokenIds.every((t) => Number.isInteger(t) && t >= 0),
    'stop_token_ids',
    p.stopTokenIds,
    'must be token ids',
  );
  return p;
}

export function usesPenalties(p: SamplingParams): boolean {
  return p.repetitionPenalty !== 1 || p.presencePenalty !== 0 || p.frequencyPenalty !== 0;
}
