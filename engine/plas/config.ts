/**
 * PlasConfig: what PLAS sparse attention keeps. The original's keys (as users of FastDeploy's
 * `--plas-attention-config '{...}'` know them) plus five of ours. Validated once; every error names the key and prints
 * the values ("plas_encoder_top_k_left (70) must be <= plas_encoder_top_k_right (60)"). Top-k ranges, limits,
 * iterations, topkSearch, denseLastLayer and the block scores are live (`mergePlasConfig`, applied from the next
 * step); the block size is fixed when a model loads, because the per-page key sums of the KV cache are laid out for it.
 *
 * This file imports nothing: the renderer reads its types (through main/server/routes/api-plas-types.ts).
 */

export interface PlasConfig {
  /** Prefill: keep about [left, right] KV blocks per query (a soft target of the binary search). Default 50. */
  plas_encoder_top_k_left: number;
  /** Default 60. */
  plas_encoder_top_k_right: number;
  /** Decode: keep about [left, right] KV blocks per query. Default 100. */
  plas_decoder_top_k_left: number;
  /** Default 120. */
  plas_decoder_top_k_right: number;
  /** Prefill tiles whose last query sees fewer tokens than this attend densely. Default encoder left x block size. */
  plas_use_encoder_seq_limit: number;
  /** Decode tokens that see fewer tokens than this attend densely. Default decoder left x block size. */
  plas_use_decoder_seq_limit: number;
  /** Tokens per PLAS block: a power of two in [16, 256] and a multiple of the KV page size. Default 128. */
  plas_block_size: number;
  /** Ours: binary-search steps of the approximate top-k, in [1, 32] ('refined' takes up to twice as many). Default 6. */
  iterations: number;
  /**
   * Ours: how the approximate top-k searches its threshold (shaders/plas_select_topk.wgsl). 'refined' (default): the
   * forced blocks (first, own, previous) stay out of the search's min, max and count, the search goes on for up to
   * 2 x iterations until the count lands in [left, right], and never ends below left. 'original': the published rule
   * (min/max over every candidate, `iterations` steps, the last threshold whatever its count).
   */
  topkSearch: TopkSearch;
  /** Ours: the model's last layer attends densely (it matters most for accuracy). Default true. */
  denseLastLayer: boolean;
  /**
   * Ours: how prefill queries score the blocks they choose from. 'gate' (default, the original's): q . Kc, Kc the
   * block's learned-gate sum of keys (mean pooling where the model has no gate). 'bound': the largest q . k any key of
   * the block could reach, from the block's per-channel key max and min (Quest, Tang et al. 2024): a block holding
   * one key that matches the query scores high even when its other keys do not, which a pooled key cannot express.
   * 'bound-gate': the learned gate in key-bound form, per channel learned weights on those max and min (the model's
   * gate file, attn_gate.bound_weight; the plain bound on a layer without one).
   */
  encoderBlockScore: BlockScore;
  /** Ours: the same for decode steps. Default 'gate'. */
  decoderBlockScore: BlockScore;
}

export type PlasConfigKey = keyof PlasConfig;

export type TopkSearch = 'original' | 'refined';
export const TOPK_SEARCHES: readonly TopkSearch[] = ['refined', 'original'];

export type BlockScore = 'gate' | 'bound' | 'bound-gate';
export const BLOCK_SCORES: readonly BlockScore[] = ['gate', 'bound', 'bound-gate'];

const DEFAULT_BLOCK_SIZE = 128;
const MAX_TOP_K = 1 << 16;
const MAX_SEQ_LIMIT = 1 << 24;

/** Defaults for a block size (the limits follow left x block size). */
export function defaultPlasConfig(blockSize = DEFAULT_BLOCK_SIZE): PlasConfig {
  return {
    plas_encoder_top_k_left: 50,
    plas_encoder_top_k_right: 60,
    plas_decoder_top_k_left: 100,
    plas_decoder_top_k_right: 120,
    plas_use_encoder_seq_limit: 50 * blockSize,
    plas_use_decoder_seq_limit: 100 * blockSize,
    plas_block_size: blockSize,
    iterations: 6,
    topkSearch: 'refined',
    denseLastLayer: true,
    encoderBlockScore: 'gate',
    decoderBlockScore: 'gate',
  };
}

const KEYS: readonly PlasConfigKey[] = Object.keys(defaultPlasConfig()) as PlasConfigKey[];

export class PlasConfigError extends RangeError {
  override name = 'PlasConfigError';
}

function intIn(name: string, value: unknown, lo: number, hi: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    throw new PlasConfigError(`${name} (${JSON.stringify(value)}) must be an integer in [${lo}, ${hi}]`);
  }
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Check a complete config against the KV page size; returns it. */
export function validatePlasConfig(c: PlasConfig, pageSize: number): PlasConfig {
  for (const side of ['encoder', 'decoder'] as const) {
    const left = `plas_${side}_top_k_left` as const;
    const right = `plas_${side}_top_k_right` as const;
    intIn(left, c[left], 1, MAX_TOP_K);
    intIn(right, c[right], 1, MAX_TOP_K);
    if (c[left] > c[right]) throw new PlasConfigError(`${left} (${c[left]}) must be <= ${right} (${c[right]})`);
    intIn(`plas_use_${side}_seq_limit`, c[`plas_use_${side}_seq_limit`], 0, MAX_SEQ_LIMIT);
  }
  const b = c.plas_block_size;
  if (typeof b !== 'number' || !isPowerOfTwo(b) || b < 16 || b > 256) {
    throw new PlasConfigError(`plas_block_size (${JSON.stringify(b)}) must be a power of two in [16, 256]`);
  }
  if (!isPowerOfTwo(pageSize)) throw new PlasConfigError(`KV page size (${pageSize}) must be a power of two`);
  if (b % pageSize !== 0) {
    throw new PlasConfigError(`plas_block_size (${b}) must be a multiple of the KV page size (${pageSize})`);
  }
  intIn('iterations', c.iterations, 1, 32);
  if (!TOPK_SEARCHES.includes(c.topkSearch)) {
    throw new PlasConfigError(`topkSearch (${JSON.stringify(c.topkSearch)}) must be ${TOPK_SEARCHES.join(' or ')}`);
  }
  if (typeof c.denseLastLayer !== 'boolean') {
    throw new PlasConfigError(`denseLastLayer (${JSON.stringify(c.denseLastLayer)}) must be true or false`);
  }
  for (const key of ['encoderBlockScore', 'decoderBlockScore'] as const) {
    if (!BLOCK_SCORES.includes(c[key])) {
      throw new PlasConfigError(`${key} (${JSON.stringify(c[key])}) must be one of ${BLOCK_SCORES.join(', ')}`);
    }
  }
  return c;
}

function checkKeys(partial: object): void {
  for (const key of Object.keys(partial)) {
    if (!KEYS.includes(key as PlasConfigKey)) {
      throw new PlasConfigError(`unknown PLAS config key ${JSON.stringify(key)} (known: ${KEYS.join(', ')})`);
    }
  }
}

/**
 * A full config from PLAS config JSON (the original's `--plas-attention-config`; a string or an already parsed object) for a KV page size.
 * Missing keys take their defaults; a limit left out follows left x block size.
 */
export function parsePlasConfig(json: string | object | undefined, pageSize: number): PlasConfig {
  let partial: unknown = json ?? {};
  if (typeof partial === 'string') {
    try {
      partial = JSON.parse(partial);
    } catch (error) {
      throw new PlasConfigError(`the PLAS config is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new PlasConfigError(`the PLAS config must be a JSON object, got ${JSON.stringify(partial)}`);
  }
  checkKeys(partial);
  const p = partial as Partial<PlasConfig>;
  const base = defaultPlasConfig(p.plas_block_size ?? DEFAULT_BLOCK_SIZE);
  const config: PlasConfig = { ...base, ...p };
  if (p.plas_use_encoder_seq_limit === undefined && typeof config.plas_encoder_top_k_left === 'number') {
    config.plas_use_encoder_seq_limit = config.plas_encoder_top_k_left * config.plas_block_size;
  }
  if (p.plas_use_decoder_seq_limit === undefined && typeof config.plas_decoder_top_k_left === 'number') {
    config.plas_use_decoder_seq_limit = config.plas_decoder_top_k_left * config.plas_block_size;
  }
  return validatePlasConfig(config, pageSize);
}

/**
 * A live update: `partial` over `current`, validated as a whole (the current config stays in force when it throws).
 * The block size cannot change. A limit still at its default (left x block size) follows a new left.
 */
export function mergePlasConfig(current: PlasConfig, partial: Partial<PlasConfig>, pageSize: number): PlasConfig {
  checkKeys(partial);
  const b = current.plas_block_size;
  if (partial.plas_block_size !== undefined && partial.plas_block_size !== b) {
    throw new PlasConfigError(
      `plas_block_size is fixed when a model loads (current ${b}, got ${JSON.stringify(partial.plas_block_size)})`,
    );
  }
  const next: PlasConfig = { ...current, ...partial };
  for (const side of ['encoder', 'decoder'] as const) {
    const left = `plas_${side}_top_k_left` as const;
    const limit = `plas_use_${side}_seq_limit` as const;
    if (partial[limit] === undefined && current[limit] === current[left] * b && typeof next[left] === 'number') {
      next[limit] = next[left] * b;
    }
  }
  return validatePlasConfig(next, pageSize);
}

export type AttentionBackend = 'plas' | 'dense';

/** The visible-token count below which a query attends densely: the same rule for selection and attention. */
export function isDenseBelowLimit(visibleTokens: number, limit: number): boolean {
  return visibleTokens < limit;
}
