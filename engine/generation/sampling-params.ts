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
  /** EOS and stop token ids are masked, and stop strings not looked for, until this many tokens (vLLM's). */
  minTokens: number;
  /** Generation ends when the text contains one of these; it is not included in the output unless asked. */
  stop: string[];
  /** Keep the stop string that ended the output at its end. */
  includeStopStrInOutput: boolean;
  /** Generation ends at one of these token ids (in addition to the model's EOS unless ignoreEos). */
  stopTokenIds: number[];
  ignoreEos: boolean;
  /** Leave special tokens (e.g. <|im_end|>, <think>) out of the text (default true, as vLLM). */
  skipSpecialTokens: boolean;
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
  minTokens: 0,
  stop: [],
  includeStopStrInOutput: false,
  stopTokenIds: [],
  ignoreEos: false,
  skipSpecialTokens: true,
};

/** The sampling defaults a model ships (generation_config.json), as far as a request may take them. */
export interface SamplingDefaults {
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  maxNewTokens?: number;
}

/**
 * The model's defaults for every field `partial` leaves out, then DEFAULT_SAMPLING's; validated. do_sample false
 * makes greedy the model's default (its temperature is then ignored, as in transformers).
 */
export function resolveSampling(partial: Partial<SamplingParams>, model: SamplingDefaults): SamplingParams {
  const fromModel: Partial<SamplingParams> = {};
  if (model.doSample === false) fromModel.temperature = 0;
  else if (model.temperature !== undefined) fromModel.temperature = model.temperature;
  if (model.topP !== undefined) fromModel.topP = model.topP;
  if (model.topK !== undefined) fromModel.topK = model.topK;
  if (model.minP !== undefined) fromModel.minP = model.minP;
  if (model.repetitionPenalty !== undefined) fromModel.repetitionPenalty = model.repetitionPenalty;
  if (model.maxNewTokens !== undefined) fromModel.maxTokens = model.maxNewTokens;
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return samplingParams({ ...fromModel, ...given });
}

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
    Number.isInteger(p.minTokens) && p.minTokens >= 0 && p.minTokens <= p.maxTokens,
    'min_tokens',
    p.minTokens,
    `must be an integer in [0, max_tokens (${p.maxTokens})]`,
  );
  check(
    Array.isArray(p.stop) && p.stop.every((s) => typeof s === 'string' && s.length > 0),
    'stop',
    p.stop,
    'must be non-empty strings',
  );
  check(
    typeof p.includeStopStrInOutput === 'boolean',
    'include_stop_str_in_output',
    p.includeStopStrInOutput,
    'must be a boolean',
  );
  check(typeof p.ignoreEos === 'boolean', 'ignore_eos', p.ignoreEos, 'must be a boolean');
  check(typeof p.skipSpecialTokens === 'boolean', 'skip_special_tokens', p.skipSpecialTokens, 'must be a boolean');
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
