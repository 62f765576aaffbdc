/**
 * A GGUF model file as the engine's model description (the same ModelFolder a Hugging Face folder gives): the
 * architecture metadata mapped to a ModelConfig, the tensors renamed to Hugging Face names (with shapes in HF order),
 * and the tokenizer and chat template from `tokenizer.*`. Nothing is read but the header (and the few bytes of
 * rope_freqs.weight), so a 5 GB file opens in milliseconds and every problem is found before the GPU is touched.
 *
 * llama.cpp's converter reorders the rows of each head of q_proj/k_proj for the "llama" architecture (its RoPE pairs
 * adjacent dimensions; Hugging Face's Llama pairs i with i + headDim/2). Those entries carry ropeInterleavedHeadDim,
 * and readTensorChunks restores HF order while streaming, so the engine runs the HF layout with its neox RoPE.
 * qwen2/qwen3 (neox in llama.cpp too) and ernie4_5 (adjacent pairs in both) are stored unchanged.
 */
import {
  type Architecture,
  expectedTensors,
  type ModelConfig,
  type ModelFamily,
  type RopeScaling,
  type RopeStyle,
} from '../model/config.ts';
import { UnsupportedArchitectureError } from '../model/errors.ts';
import type { GenerationConfig } from '../model/generation-config.ts';
import type { ModelFolder } from '../model/model-folder.ts';
import { type ModelWeights, matchExpectedTensors } from '../model/model-weights.ts';
import { formatShape, readTensor, type TensorEntry } from '../model/safetensors.ts';
import { GGUF_TOKEN_TYPE, tokenizerFromGguf } from '../tokenizer/gguf-tokenizer.ts';
import { GgufError } from './errors.ts';
import { RUNNABLE_GGML_TYPES } from './ggml-types.ts';
import { GgufMetadata } from './metadata.ts';
import type { GgufFile, GgufTensorInfo } from './reader.ts';
import { openGgufModel } from './split.ts';
import { ggufTensorName, ROPE_FREQS_TENSOR } from './tensor-names.ts';

interface GgufArchitecture {
  architecture: Architecture;
  family: ModelFamily;
  ropeStyle: RopeStyle;
  /** llama.cpp permuted q/k rows for its adjacent-pair RoPE (convert_hf_to_gguf.py LlamaModel.permute). */
  permutedQk: boolean;
  defaultTheta: number;
}

const ARCHITECTURES: Record<string, GgufArchitecture> = {
  llama: {
    architecture: 'LlamaForCausalLM',
    family: 'llama',
    ropeStyle: 'neox',
    permutedQk: true,
    defaultTheta: 10000,
  },
  qwen2: {
    architecture: 'Qwen2ForCausalLM',
    family: 'qwen2',
    ropeStyle: 'neox',
    permutedQk: false,
    defaultTheta: 10000,
  },
  qwen3: {
    architecture: 'Qwen3ForCausalLM',
    family: 'qwen3',
    ropeStyle: 'neox',
    permutedQk: false,
    defaultTheta: 10000,
  },
  ernie4_5: {
    architecture: 'Ernie4_5_ForCausalLM',
    family: 'ernie4_5',
    ropeStyle: 'interleaved',
    permutedQk: false,
    defaultTheta: 500000,
  },
};
export const SUPPORTED_GGUF_ARCHITECTURES = Object.keys(ARCHITECTURES);

/** Opens a .gguf file as a model: config, weights and tokenizer, all checked. */
export async function readGgufModel(path: string): Promise<ModelFolder> {
  const file = await openGgufModel(path);
  const { config, generation } = await ggufModelConfig(file);
  const weights = ggufWeights(file, config);
  const expected = expectedTensors(config);
  matchExpectedTensors(weights, expected, path);
  const tokenizer = tokenizerFromGguf(file);
  // A split model is named by its first part, whichever part was given (its gate, its cache salt).
  return { dir: file.path, config, generation, weights, expected, tokenizer };
}

/** The ModelConfig (and generation defaults) a GGUF file's metadata and tensors describe. */
export async function ggufModelConfig(file: GgufFile): Promise<{ config: ModelConfig; generation: GenerationConfig }> {
  const m = new GgufMetadata(file);
  const archName = m.string('general.architecture');
  const arch = ARCHITECTURES[archName];
  if (!arch) {
    throw new UnsupportedArchitectureError(file.path, `GGUF architecture "${archName}"`, SUPPORTED_GGUF_ARCHITECTURES);
  }
  const key = (k: string) => `${archName}.${k}`;
  const tensors = new Map(file.tensors.map((t) => [t.name, t]));
  const embedding = tensors.get('token_embd.weight');
  if (!embedding) throw new GgufError(file.path, 'has no token_embd.weight tensor');

  const hiddenSize = m.positiveCount(key('embedding_length'));
  const numHeads = m.positiveCount(key('attention.head_count'));
  const numKvHeads = m.positiveCount(key('attention.head_count_kv'), numHeads);
  if (numHeads % numKvHeads !== 0)
    m.fail(key('attention.head_count_kv'), `(${numKvHeads}) must divide head_count (${numHeads})`);
  const defaultHeadDim = hiddenSize % numHeads === 0 ? hiddenSize / numHeads : undefined;
  const headDim = m.positiveCount(key('attention.key_length'), defaultHeadDim);
  const valueLength = m.optionalCount(key('attention.value_length'));
  if (valueLength !== undefined && valueLength !== headDim) {
    m.fail(
      key('attention.value_length'),
      `(${valueLength}) differs from key_length (${headDim}), which the engine does not support`,
    );
  }
  if (headDim % 2 !== 0) m.fail(key('attention.key_length'), `(${headDim}) must be even: RoPE rotates pairs`);
  const ropeDims = m.optionalCount(key('rope.dimension_count'));
  if (ropeDims !== undefined && ropeDims !== headDim) {
    m.fail(
      key('rope.dimension_count'),
      `(${ropeDims}) rotates part of each head (${headDim}), which the engine does not support`,
    );
  }
  const ropeTheta = m.optionalNumber(key('rope.freq_base')) ?? arch.defaultTheta;
  if (!(ropeTheta > 0)) m.fail(key('rope.freq_base'), `must be positive, found ${ropeTheta}`);
  const rmsNormEps = m.optionalNumber(key('attention.layer_norm_rms_epsilon')) ?? 1e-5;
  if (!(rmsNormEps > 0 && rmsNormEps <= 0.1))
    m.fail(key('attention.layer_norm_rms_epsilon'), `must be in (0, 0.1], found ${rmsNormEps}`);

  const vocabSize = m.positiveCount(key('vocab_size'), embedding.shape[0]);
  const tokens = m.optionalStringArray('tokenizer.ggml.tokens');
  const tokenId = (k: string) => {
    const id = m.optionalCount(k);
    if (id !== undefined && id >= vocabSize) m.fail(k, `(${id}) must be < the vocabulary size (${vocabSize})`);
    return id;
  };
  const bosTokenId = tokenId('tokenizer.ggml.bos_token_id');
  const eosTokenIds = [
    ...new Set([
      ...['eos', 'eot', 'eom'].flatMap((name) => {
        const id = tokenId(`tokenizer.ggml.${name}_token_id`);
        return id === undefined ? [] : [id];
      }),
      ...endOfGenerationTokens(m, vocabSize),
    ]),
  ];
  if (tokens && tokens.length > vocabSize) {
    m.fail('tokenizer.ggml.tokens', `has ${tokens.length} tokens, more than the embedding's ${vocabSize} rows`);
  }

  const sliding = m.optionalCount(key('attention.sliding_window'));
  // GGUF has no Mistral architecture: Mistral models are "llama" files; the name tells them apart (for display only:
  // the forward pass is the same, and llama.cpp runs them without a sliding window unless the metadata sets one).
  const isMistral = archName === 'llama' && /mistral/i.test(m.optionalString('general.name') ?? '');
  if (sliding !== undefined && !isMistral) {
    m.fail(key('attention.sliding_window'), 'is set, but the engine applies sliding windows to Mistral models only');
  }
  const hasBias = tensors.has('blk.0.attn_q.bias');
  if (hasBias && arch.family !== 'qwen2') {
    throw new GgufError(
      file.path,
      `has q/k/v biases (blk.0.attn_q.bias), which ${archName} models do not have in this engine`,
    );
  }

  const config: ModelConfig = {
    architecture: isMistral ? 'MistralForCausalLM' : arch.architecture,
    family: isMistral ? 'mistral' : arch.family,
    vocabSize,
    hiddenSize,
    intermediateSize: m.positiveCount(key('feed_forward_length')),
    numLayers: m.positiveCount(key('block_count')),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps,
    ropeTheta,
    rope: { style: arch.ropeStyle, scaling: await ropeScaling(file, m, key, ropeTheta, headDim) },
    maxPositionEmbeddings: m.positiveCount(key('context_length'), 4096),
    tieWordEmbeddings: !tensors.has('output.weight'),
    attentionBias: arch.family === 'qwen2',
    qkNorm: arch.family === 'qwen3',
    slidingWindow: sliding ?? null,
    bosTokenId,
    eosTokenIds,
    torchDtype: undefined,
  };
  const generation: GenerationConfig = { eosTokenIds, ...(bosTokenId === undefined ? {} : { bosTokenId }) };
  return { config, generation };
}

/**
 * The file's tensors under their Hugging Face names, each checked to be one the engine can run. Tensors the config
 * does not use (rope_freqs.weight, extras) are left out.
 */
export function ggufWeights(file: GgufFile, config: ModelConfig): ModelWeights {
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const permuted = ARCHITECTURES[new GgufMetadata(file).string('general.architecture')]?.permutedQk ?? false;
  const tensors = new Map<string, TensorEntry>();
  const problems: string[] = [];
  let totalBytes = 0;
  for (const [hfName, shape] of expectedTensors(config)) {
    const name = ggufTensorName(hfName)!;
    const info = byName.get(name);
    if (!info) {
      problems.push(`missing tensor ${name} (expected shape ${formatShape(shape)})`);
      continue;
    }
    if (info.dtype === null) {
      problems.push(
        `tensor ${name} is ${info.ggmlType}, a type the engine cannot run (supported: ${RUNNABLE_GGML_TYPES.join(', ')})`,
      );
      continue;
    }
    const entry: TensorEntry = {
      name: hfName,
      dtype: info.dtype,
      shape: info.shape,
      file: info.file,
      byteOffset: info.byteOffset,
      byteLength: info.byteLength,
    };
    if (permuted && /\.self_attn\.[qk]_proj\.weight$/.test(hfName)) entry.ropeInterleavedHeadDim = config.headDim;
    tensors.set(hfName, entry);
    totalBytes += info.byteLength;
  }
  if (problems.length > 0) {
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new GgufError(file.path, `${problems.slice(0, 5).join('; ')}${more}`);
  }
  const files = file.parts ?? [{ path: file.path, fileSize: file.fileSize }];
  return { dir: file.path, files, tensors, totalBytes };
}

/**
 * Control tokens that end a turn, found by their text as llama.cpp does (llama-vocab.cpp, special_eog_ids): GGUF names
 * one eos token, while models stop on several (Qwen: <|im_end|> and <|endoftext|>; Llama 3: <|eot_id|>, <|eom_id|>
 * and <|end_of_text|>), which Hugging Face folders list in generation_config.json.
 */
const END_OF_GENERATION = new Set([
  '<|eot_id|>',
  '<|eom_id|>',
  '<|end_of_text|>',
  '<|im_end|>',
  '<|endoftext|>',
  '<|end|>',
  '<end_of_turn>',
  '<|return|>',
  '<|call|>',
  '<EOT>',
  '<|end▁of▁sentence|>',
]);

function endOfGenerationTokens(m: GgufMetadata, vocabSize: number): number[] {
  const tokens = m.optionalStringArray('tokenizer.ggml.tokens') ?? [];
  const types = m.optionalNumberArray('tokenizer.ggml.token_type');
  const out: number[] = [];
  tokens.forEach((token, id) => {
    if (id < vocabSize && END_OF_GENERATION.has(token) && (!types || types[id] === GGUF_TOKEN_TYPE.control))
      out.push(id);
  });
  return out;
}

/** rope.scaling.* (linear), or rope_freqs.weight (Llama 3.1's rule, which the converter writes as per-pair factors). */
async function ropeScaling(
  file: GgufFile,
  m: GgufMetadata,
  key: (k: string) => string,
  theta: number,
  headDim: number,
): Promise<RopeScaling | undefined> {
  const type = m.optionalString(key('rope.scaling.type'));
  if (type === 'linear') {
    const factor = m.optionalNumber(key('rope.scaling.factor'));
    if (factor === undefined || !(factor >= 1))
      m.fail(key('rope.scaling.factor'), `must be >= 1 for linear scaling, found ${factor}`);
    return { type: 'linear', factor };
  }
  if (type !== undefined && type !== 'none') {
    m.fail(key('rope.scaling.type'), `"${type}" is not supported (supported: none, linear, and Llama 3's rope_freqs)`);
  }
  const freqs = file.tensors.find((t) => t.name === ROPE_FREQS_TENSOR);
  if (!freqs) return undefined;
  return llama3ScalingOf(file, freqs, theta, headDim);
}

async function llama3ScalingOf(
  file: GgufFile,
  info: GgufTensorInfo,
  theta: number,
  headDim: number,
): Promise<RopeScaling | undefined> {
  const fail = (detail: string): never => {
    throw new GgufError(file.path, `${ROPE_FREQS_TENSOR}: ${detail}`);
  };
  if (info.dtype !== 'f32' || info.shape.length !== 1 || info.shape[0] !== headDim / 2) {
    fail(`expected F32 of [${headDim / 2}], found ${info.ggmlType} of ${formatShape(info.shape)}`);
  }
  const factors = await readTensor({
    name: info.name,
    dtype: 'f32',
    shape: info.shape,
    file: info.file,
    byteOffset: info.byteOffset,
    byteLength: info.byteLength,
  });
  const factor = Math.max(...factors);
  if (factors.every((f) => f === 1)) return undefined;
  for (const originalMaxPositionEmbeddings of [8192, 4096, 2048, 16384, 32768, 65536, 131072]) {
    for (const [lowFreqFactor, highFreqFactor] of [
      [1, 4],
      [1, 2],
      [2, 4],
      [1, 8],
      [2, 8],
    ]) {
      const s = { type: 'llama3' as const, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings };
      const expected = llama3Factors(s, theta, headDim);
      if (expected.every((f, i) => Math.abs(f - factors[i]) <= 1e-4 * f)) return s;
    }
  }
  return fail(
    'the per-pair factors match no Llama 3 scaling rule (factor, low/high frequency factors, original context) the engine knows',
  );
}

/** The factors llama.cpp's converter writes for Llama 3.1's RoPE scaling: inverse frequency i is divided by factor i. */
export function llama3Factors(s: Extract<RopeScaling, { type: 'llama3' }>, theta: number, headDim: number): number[] {
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return Array.from({ length: headDim / 2 }, (_, i) => {
    const freq = 1 / theta ** ((2 * i) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}
