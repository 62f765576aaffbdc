/**
 * config.json of a Hugging Face model folder -> a typed, validated ModelConfig, and the exact tensors that config
 * needs. The engine never reads the raw JSON past this file. Defaults for absent fields mirror the transformers
 * config class of each architecture, so a terse config means what it means in transformers.
 */
import type { FloatDType } from '../gpu/dtype.ts';
import { ConfigFields } from './config-fields.ts';
import { ModelConfigError, UnsupportedArchitectureError } from './errors.ts';
import { parseRope, type RopeScaling } from './rope-config.ts';

export type { RopeScaling } from './rope-config.ts';

/** The `architectures[0]` names accepted; ERNIE 4.5 has two: Baidu's remote code and transformers' own class. */
export type Architecture =
  | 'LlamaForCausalLM'
  | 'MistralForCausalLM'
  | 'Qwen2ForCausalLM'
  | 'Qwen3ForCausalLM'
  | 'Ernie4_5_ForCausalLM'
  | 'Ernie4_5ForCausalLM';

/** What the forward pass switches on; also the `model_type` of config.json. */
export type ModelFamily = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'ernie4_5';

/**
 * neox: rotate_half pairs dimension i with i + headDim/2 (Llama, Mistral, Qwen in their HF layout).
 * interleaved: pairs dimension 2i with 2i + 1 (ERNIE 4.5: transformers applies its rotary to adjacent pairs).
 */
export type RopeStyle = 'neox' | 'interleaved';

export interface ModelConfig {
  architecture: Architecture;
  family: ModelFamily;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** Per head; not always hiddenSize / numHeads (Qwen3, ERNIE 4.5 0.3B, Mistral Nemo set it apart). */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  rope: { style: RopeStyle; scaling: RopeScaling | undefined };
  maxPositionEmbeddings: number;
  /** lm_head reuses model.embed_tokens.weight; the folder then has no lm_head.weight. */
  tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj and v_proj (Qwen2), never on o_proj or the MLP. */
  attentionBias: boolean;
  /** RMSNorm over each head of q and k before RoPE, weights q_norm/k_norm of [headDim] (Qwen3). */
  qkNorm: boolean;
  /** Keys older than this many positions are masked (Mistral v0.1: 4096); null attends to the whole context. */
  slidingWindow: number | null;
  bosTokenId: number | undefined;
  /** From config.json; merge generation_config.json's with mergeGenerationConfig. */
  eosTokenIds: number[];
  /** The dtype the weights were saved in, when config.json says. */
  torchDtype: FloatDType | undefined;
}

interface ArchitectureTraits {
  family: ModelFamily;
  ropeStyle: RopeStyle;
  defaultTheta: number;
  defaultMaxPositions: number;
  defaultRmsNormEps: number;
  defaultTied: boolean;
}

// Defaults from each transformers config class (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config, Ernie4_5Config).
const LLAMA: ArchitectureTraits = {
  family: 'llama',
  ropeStyle: 'neox',
  defaultTheta: 10000,
  defaultMaxPositions: 2048,
  defaultRmsNormEps: 1e-6,
  defaultTied: false,
};
const ERNIE: ArchitectureTraits = {
  family: 'ernie4_5',
  ropeStyle: 'interleaved',
  defaultTheta: 500000,
  defaultMaxPositions: 131072,
  defaultRmsNormEps: 1e-5,
  defaultTied: true,
};
const TRAITS: Record<Architecture, ArchitectureTraits> = {
  LlamaForCausalLM: LLAMA,
  MistralForCausalLM: { ...LLAMA, family: 'mistral', defaultMaxPositions: 4096 * 32 },
  Qwen2ForCausalLM: { ...LLAMA, family: 'qwen2', defaultMaxPositions: 32768 },
  Qwen3ForCausalLM: { ...LLAMA, family: 'qwen3', defaultMaxPositions: 32768 },
  Ernie4_5_ForCausalLM: ERNIE,
  Ernie4_5ForCausalLM: ERNIE,
};
export const SUPPORTED_ARCHITECTURES = Object.keys(TRAITS) as Architecture[];

/** model_type -> architecture, for the rare config.json without an `architectures` list. */
const BY_MODEL_TYPE: Record<string, Architecture> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  ernie4_5: 'Ernie4_5ForCausalLM',
};

const TORCH_DTYPES: Record<string, FloatDType> = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' };

function architectureOf(fields: ConfigFields): Architecture {
  const list = fields.raw('architectures');
  if (list !== undefined && (!Array.isArray(list) || list.length === 0 || typeof list[0] !== 'string')) {
    fields.fail('architectures', 'must be a non-empty list of class names');
  }
  const name = (list as string[] | undefined)?.[0];
  if (name === undefined) {
    const modelType = fields.optionalString('model_type');
    if (modelType === undefined) {
      throw new ModelConfigError(fields.source, 'architectures', 'has neither architectures nor model_type');
    }
    if (!(modelType in BY_MODEL_TYPE)) {
      throw new UnsupportedArchitectureError(fields.source, `model_type ${modelType}`, SUPPORTED_ARCHITECTURES);
    }
    return BY_MODEL_TYPE[modelType];
  }
  if (!(name in TRAITS)) throw new UnsupportedArchitectureError(fields.source, name, SUPPORTED_ARCHITECTURES);
  return name as Architecture;
}

/** Parses a config.json object; `source` (the file's path) starts every error message. */
export function parseModelConfig(json: unknown, source: string): ModelConfig {
  const f = ConfigFields.of(json, source);
  const architecture = architectureOf(f);
  const traits = TRAITS[architecture];
  const family = traits.family;

  if (f.has('quantization_config')) {
    f.fail(
      'quantization_config',
      'marks a quantized checkpoint, which is not supported; use the f16/bf16/f32 original',
    );
  }
  const act = f.raw('hidden_act') ?? 'silu';
  if (act !== 'silu') f.fail('hidden_act', 'is not supported (supported: silu)');

  const vocabSize = f.positiveInt('vocab_size');
  const hiddenSize = f.positiveInt('hidden_size');
  const intermediateSize = f.positiveInt('intermediate_size');
  const numLayers = f.positiveInt('num_hidden_layers');
  const numHeads = f.positiveInt('num_attention_heads');
  const numKvHeads = f.positiveInt('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    f.fail('num_key_value_heads', `must divide num_attention_heads (${numHeads})`);
  }
  const headDim = parseHeadDim(f, family, hiddenSize, numHeads);

  const compressionRatio = family === 'ernie4_5' ? f.positiveNumber('compression_ratio', 1) : 1;
  const rope = parseRope(f, traits.defaultTheta, compressionRatio);
  const maxPositionEmbeddings = f.positiveInt('max_position_embeddings', traits.defaultMaxPositions);
  const rmsNormEps = f.optionalNumberIn('rms_norm_eps', 0, 0.1, true) ?? traits.defaultRmsNormEps;

  const config: ModelConfig = {
    architecture,
    family,
    vocabSize,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps,
    ropeTheta: rope.theta,
    rope: { style: traits.ropeStyle, scaling: rope.scaling },
    maxPositionEmbeddings,
    tieWordEmbeddings: f.bool('tie_word_embeddings', traits.defaultTied),
    attentionBias: parseBiases(f, family),
    qkNorm: family === 'qwen3',
    slidingWindow: parseSlidingWindow(f, family),
    bosTokenId: f.optionalNonNegativeInt('bos_token_id'),
    eosTokenIds: f.tokenIds('eos_token_id'),
    torchDtype: parseTorchDtype(f),
  };
  for (const [key, ids] of [
    ['bos_token_id', config.bosTokenId === undefined ? [] : [config.bosTokenId]],
    ['eos_token_id', config.eosTokenIds],
  ] as const) {
    if (ids.some((id) => id >= vocabSize)) f.fail(key, `must be < vocab_size (${vocabSize})`);
  }
  return config;
}

function parseHeadDim(f: ConfigFields, family: ModelFamily, hiddenSize: number, numHeads: number): number {
  let headDim: number;
  if (f.has('head_dim')) headDim = f.positiveInt('head_dim');
  // Qwen3Config defaults head_dim to 128 rather than deriving it; every other class derives it.
  else if (family === 'qwen3' && !('head_dim' in f.json)) headDim = 128;
  else {
    if (hiddenSize % numHeads !== 0) {
      f.fail('hidden_size', `must be divisible by num_attention_heads (${numHeads}) when head_dim is not given`);
    }
    headDim = hiddenSize / numHeads;
  }
  if (headDim % 2 !== 0) {
    throw new ModelConfigError(
      f.source,
      'head_dim',
      `head_dim (${headDim}) must be even: RoPE rotates pairs of dimensions`,
    );
  }
  return headDim;
}

/** Qwen2 always has q/k/v biases; the biases other classes can switch on (o_proj, MLP) have no kernel here. */
function parseBiases(f: ConfigFields, family: ModelFamily): boolean {
  const unsupported = (key: string, where: string) => {
    if (f.bool(key, false)) f.fail(key, `is not supported: it adds biases to ${where}, which this engine lacks`);
  };
  if (family === 'llama' || family === 'qwen3') unsupported('attention_bias', 'q/k/v/o_proj');
  if (family === 'llama') unsupported('mlp_bias', 'the MLP');
  if (family === 'ernie4_5') unsupported('use_bias', 'every projection');
  return family === 'qwen2';
}

function parseSlidingWindow(f: ConfigFields, family: ModelFamily): number | null {
  if (family === 'mistral') {
    // MistralConfig's default is 4096; an explicit null (v0.2 and later) turns the window off.
    if ('sliding_window' in f.json && f.json.sliding_window === null) return null;
    return f.positiveInt('sliding_window', 4096);
  }
  if ((family === 'qwen2' || family === 'qwen3') && f.bool('use_sliding_window', false)) {
    f.fail('use_sliding_window', 'is not supported: Qwen applies the window to some layers only (max_window_layers)');
  }
  return null;
}

function parseTorchDtype(f: ConfigFields): FloatDType | undefined {
  // transformers >= 4.56 writes `dtype`; older files `torch_dtype`.
  const key = f.has('dtype') ? 'dtype' : 'torch_dtype';
  const name = f.optionalString(key);
  if (name === undefined) return undefined;
  const dtype = TORCH_DTYPES[name];
  if (!dtype) f.fail(key, `is not supported (supported: ${Object.keys(TORCH_DTYPES).join(', ')})`);
  return dtype;
}

/**
 * The exact Hugging Face tensor names and shapes (row-major, [out, in] for projections) a config needs, in the order
 * transformers saves them. ERNIE 4.5 uses the Llama names (transformers' Ernie4_5ForCausalLM and Baidu's remote code
 * agree on them).
 */
export function expectedTensors(config: ModelConfig): Map<string, number[]> {
  const { hiddenSize: h, intermediateSize: ff, numHeads, numKvHeads, headDim, vocabSize } = config;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const out = new Map<string, number[]>();
  out.set('model.embed_tokens.weight', [vocabSize, h]);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    out.set(`${p}.input_layernorm.weight`, [h]);
    for (const [name, rows] of [
      ['q_proj', q],
      ['k_proj', kv],
      ['v_proj', kv],
    ] as const) {
      out.set(`${p}.self_attn.${name}.weight`, [rows, h]);
      if (config.attentionBias) out.set(`${p}.self_attn.${name}.bias`, [rows]);
    }
    out.set(`${p}.self_attn.o_proj.weight`, [h, q]);
    if (config.qkNorm) {
      out.set(`${p}.self_attn.q_norm.weight`, [headDim]);
      out.set(`${p}.self_attn.k_norm.weight`, [headDim]);
    }
    out.set(`${p}.post_attention_layernorm.weight`, [h]);
    out.set(`${p}.mlp.gate_proj.weight`, [ff, h]);
    out.set(`${p}.mlp.up_proj.weight`, [ff, h]);
    out.set(`${p}.mlp.down_proj.weight`, [h, ff]);
  }
  out.set('model.norm.weight', [h]);
  if (!config.tieWordEmbeddings) out.set('lm_head.weight', [vocabSize, h]);
  return out;
}
