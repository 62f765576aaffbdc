/**
 * config.json and generation_config.json parsing: real configs of every supported architecture, the derived fields
 * (head_dim, RoPE style and scaling), and bad configs with the exact message a user sees.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedTensors, type ModelConfig, parseModelConfig } from '../../../engine/model/config.ts';
import { ModelConfigError, UnsupportedArchitectureError } from '../../../engine/model/errors.ts';
import { mergeGenerationConfig, parseGenerationConfig } from '../../../engine/model/generation-config.ts';
import {
  ERNIE_4_5_0_3B_PT,
  LLAMA_3_2_1B_INSTRUCT,
  MISTRAL_7B_INSTRUCT_V0_3,
  MISTRAL_7B_V0_1,
  QWEN2_5_0_5B_INSTRUCT,
  QWEN3_0_6B,
  SMOLLM2_135M_INSTRUCT,
  TINYLLAMA_1_1B_CHAT,
} from '../../fixtures/real-configs.ts';

const SOURCE = 'config.json';
const parse = (json: unknown) => parseModelConfig(json, SOURCE);

describe('real configs', () => {
  it('Llama 3.2 1B: llama3 rope scaling, explicit head_dim, tied, three eos ids', () => {
    const c = parse(LLAMA_3_2_1B_INSTRUCT);
    assert.deepEqual(c, {
      architecture: 'LlamaForCausalLM',
      family: 'llama',
      vocabSize: 128256,
      hiddenSize: 2048,
      intermediateSize: 8192,
      numLayers: 16,
      numHeads: 32,
      numKvHeads: 8,
      headDim: 64,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      rope: {
        style: 'neox',
        scaling: {
          type: 'llama3',
          factor: 32,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalMaxPositionEmbeddings: 8192,
        },
      },
      maxPositionEmbeddings: 131072,
      tieWordEmbeddings: true,
      attentionBias: false,
      qkNorm: false,
      slidingWindow: null,
      bosTokenId: 128000,
      eosTokenIds: [128001, 128008, 128009],
      torchDtype: 'bf16',
    } satisfies ModelConfig);
  });

  it('TinyLlama and SmolLM2 (Llama class): head_dim derived from hidden/heads', () => {
    const tiny = parse(TINYLLAMA_1_1B_CHAT);
    assert.equal(tiny.headDim, 64);
    assert.equal(tiny.tieWordEmbeddings, false);
    assert.equal(tiny.rope.scaling, undefined);
    assert.deepEqual(tiny.eosTokenIds, [2]);
    const smol = parse(SMOLLM2_135M_INSTRUCT);
    assert.equal(smol.headDim, 64); // 576 / 9
    assert.equal(smol.numKvHeads, 3);
    assert.equal(smol.ropeTheta, 100000);
  });

  it('Mistral: sliding_window 4096 in v0.1, null in v0.3', () => {
    const v1 = parse(MISTRAL_7B_V0_1);
    assert.equal(v1.family, 'mistral');
    assert.equal(v1.slidingWindow, 4096);
    assert.equal(v1.headDim, 128);
    assert.equal(v1.rope.style, 'neox');
    const v3 = parse(MISTRAL_7B_INSTRUCT_V0_3);
    assert.equal(v3.slidingWindow, null);
    assert.equal(v3.ropeTheta, 1e6);
  });

  it('Qwen2.5: q/k/v biases, no qk-norm, unused sliding_window ignored', () => {
    const c = parse(QWEN2_5_0_5B_INSTRUCT);
    assert.equal(c.family, 'qwen2');
    assert.equal(c.attentionBias, true);
    assert.equal(c.qkNorm, false);
    assert.equal(c.slidingWindow, null);
    assert.equal(c.headDim, 64);
    assert.equal(c.rmsNormEps, 1e-6);
  });

  it('Qwen3: qk-norm, no bias, head_dim 128 != hidden/heads', () => {
    const c = parse(QWEN3_0_6B);
    assert.equal(c.family, 'qwen3');
    assert.equal(c.qkNorm, true);
    assert.equal(c.attentionBias, false);
    assert.equal(c.headDim, 128);
    assert.equal(c.hiddenSize / c.numHeads, 64);
    // Qwen3Config defaults a missing head_dim to 128 rather than deriving it.
    const { head_dim: _, ...withoutHeadDim } = QWEN3_0_6B;
    assert.equal(parse(withoutHeadDim).headDim, 128);
  });

  it('ERNIE 4.5 0.3B: interleaved RoPE, tied, both class names', () => {
    const c = parse(ERNIE_4_5_0_3B_PT);
    assert.equal(c.family, 'ernie4_5');
    assert.equal(c.architecture, 'Ernie4_5_ForCausalLM');
    assert.equal(c.rope.style, 'interleaved');
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(c.attentionBias, false);
    assert.equal(c.headDim, 128);
    assert.equal(c.ropeTheta, 500000);
    const native = parse({ ...ERNIE_4_5_0_3B_PT, architectures: ['Ernie4_5ForCausalLM'] });
    assert.equal(native.family, 'ernie4_5');
    assert.equal(native.rope.style, 'interleaved');
  });

  it('falls back to model_type without an architectures list, and to the class defaults', () => {
    const c = parse({
      model_type: 'llama',
      vocab_size: 100,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 4,
    });
    assert.equal(c.architecture, 'LlamaForCausalLM');
    assert.equal(c.numKvHeads, 4);
    assert.equal(c.headDim, 8);
    assert.equal(c.rmsNormEps, 1e-6);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.maxPositionEmbeddings, 2048);
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.bosTokenId, undefined);
    assert.deepEqual(c.eosTokenIds, []);
    assert.equal(c.torchDtype, undefined);
  });
});

describe('rope scaling', () => {
  it('linear, in the old {"type": ...} spelling', () => {
    const c = parse({ ...TINYLLAMA_1_1B_CHAT, rope_scaling: { type: 'linear', factor: 4 } });
    assert.deepEqual(c.rope.scaling, { type: 'linear', factor: 4 });
  });

  it('rope_type "default" means no scaling', () => {
    assert.equal(parse({ ...QWEN3_0_6B, rope_scaling: { rope_type: 'default' } }).rope.scaling, undefined);
  });

  it('transformers 5 rope_parameters: theta and type in one object', () => {
    const { rope_theta: _, rope_scaling: __, ...rest } = LLAMA_3_2_1B_INSTRUCT;
    const c = parse({ ...rest, rope_parameters: { ...LLAMA_3_2_1B_INSTRUCT.rope_scaling, rope_theta: 500000 } });
    assert.equal(c.ropeTheta, 500000);
    assert.equal(c.rope.scaling?.type, 'llama3');
    const plain = parse({
      ...QWEN3_0_6B,
      rope_theta: undefined,
      rope_parameters: { rope_type: 'default', rope_theta: 5e6 },
    });
    assert.equal(plain.ropeTheta, 5e6);
    assert.equal(plain.rope.scaling, undefined);
  });

  it("ERNIE's compression_ratio is linear scaling", () => {
    const c = parse({ ...ERNIE_4_5_0_3B_PT, compression_ratio: 2 });
    assert.deepEqual(c.rope.scaling, { type: 'linear', factor: 2 });
    assert.equal(parse({ ...ERNIE_4_5_0_3B_PT, compression_ratio: 1 }).rope.scaling, undefined);
  });
});

describe('bad configs: the exact message', () => {
  const cases: [string, unknown, string][] = [
    [
      'kv heads that do not divide heads',
      { ...TINYLLAMA_1_1B_CHAT, num_attention_heads: 8, num_key_value_heads: 3, hidden_size: 512 },
      'config.json: num_key_value_heads (3) must divide num_attention_heads (8)',
    ],
    [
      'a missing required field',
      { ...TINYLLAMA_1_1B_CHAT, hidden_size: undefined },
      'config.json: hidden_size is missing; it must be a positive integer',
    ],
    [
      'zero layers',
      { ...TINYLLAMA_1_1B_CHAT, num_hidden_layers: 0 },
      'config.json: num_hidden_layers (0) must be a positive integer',
    ],
    [
      'a number written as a string',
      { ...TINYLLAMA_1_1B_CHAT, vocab_size: '32000' },
      'config.json: vocab_size ("32000") must be a positive integer',
    ],
    [
      'an odd head_dim',
      { ...QWEN3_0_6B, head_dim: 15 },
      'config.json: head_dim (15) must be even: RoPE rotates pairs of dimensions',
    ],
    [
      'hidden_size not divisible by heads, no head_dim',
      { ...TINYLLAMA_1_1B_CHAT, hidden_size: 2050 },
      'config.json: hidden_size (2050) must be divisible by num_attention_heads (32) when head_dim is not given',
    ],
    [
      'an unsupported rope type',
      { ...QWEN3_0_6B, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } },
      'config.json: rope_scaling.rope_type ("yarn") is not supported (supported: default, linear, llama3)',
    ],
    [
      'llama3 scaling without low_freq_factor',
      {
        ...LLAMA_3_2_1B_INSTRUCT,
        rope_scaling: { ...LLAMA_3_2_1B_INSTRUCT.rope_scaling, low_freq_factor: undefined },
      },
      'config.json: rope_scaling.low_freq_factor is missing; it must be a positive number',
    ],
    [
      'partial rotary',
      { ...TINYLLAMA_1_1B_CHAT, partial_rotary_factor: 0.5 },
      'config.json: partial_rotary_factor (0.5) is not supported: only RoPE over the whole head (1.0) is',
    ],
    [
      'an eos id outside the vocabulary',
      { ...TINYLLAMA_1_1B_CHAT, eos_token_id: [2, 32000] },
      'config.json: eos_token_id ([2,32000]) must be < vocab_size (32000)',
    ],
    [
      'a gelu model',
      { ...TINYLLAMA_1_1B_CHAT, hidden_act: 'gelu' },
      'config.json: hidden_act ("gelu") is not supported (supported: silu)',
    ],
    [
      'a quantized checkpoint',
      { ...QWEN3_0_6B, quantization_config: { quant_method: 'fp8' } },
      'config.json: quantization_config ({"quant_method":"fp8"}) marks a quantized checkpoint, which is not ' +
        'supported; use the f16/bf16/f32 original',
    ],
    [
      'Llama with o_proj biases',
      { ...TINYLLAMA_1_1B_CHAT, attention_bias: true },
      'config.json: attention_bias (true) is not supported: it adds biases to q/k/v/o_proj, which this engine lacks',
    ],
    [
      'ERNIE with use_bias',
      { ...ERNIE_4_5_0_3B_PT, use_bias: true },
      'config.json: use_bias (true) is not supported: it adds biases to every projection, which this engine lacks',
    ],
    [
      'Qwen with a per-layer sliding window',
      { ...QWEN2_5_0_5B_INSTRUCT, use_sliding_window: true },
      'config.json: use_sliding_window (true) is not supported: Qwen applies the window to some layers only ' +
        '(max_window_layers)',
    ],
    [
      'an unknown torch_dtype',
      { ...QWEN3_0_6B, torch_dtype: 'float8_e4m3fn' },
      'config.json: torch_dtype ("float8_e4m3fn") is not supported (supported: float32, float16, bfloat16)',
    ],
    ['not an object', [1, 2], 'config.json: expected a JSON object, found [1,2]'],
  ];
  for (const [what, json, message] of cases) {
    it(what, () => {
      assert.throws(
        () => parse(json),
        (error: Error) => {
          assert.ok(error instanceof ModelConfigError, `${error.name}: ${error.message}`);
          assert.equal(error.message, message);
          return true;
        },
      );
    });
  }

  it('an unsupported architecture', () => {
    assert.throws(
      () => parse({ ...TINYLLAMA_1_1B_CHAT, architectures: ['GPTNeoXForCausalLM'] }),
      (error: Error) => {
        assert.ok(error instanceof UnsupportedArchitectureError);
        assert.equal(error.architecture, 'GPTNeoXForCausalLM');
        assert.equal(
          error.message,
          'config.json: unsupported architecture GPTNeoXForCausalLM (supported: LlamaForCausalLM, MistralForCausalLM, ' +
            'Qwen2ForCausalLM, Qwen3ForCausalLM, Ernie4_5_ForCausalLM, Ernie4_5ForCausalLM)',
        );
        return true;
      },
    );
  });

  it('names the file it was given', () => {
    assert.throws(
      () => parseModelConfig({ ...TINYLLAMA_1_1B_CHAT, num_hidden_layers: -1 }, '/models/tiny/config.json'),
      { message: '/models/tiny/config.json: num_hidden_layers (-1) must be a positive integer' },
    );
  });
});

describe('expectedTensors', () => {
  const layer0 = (config: ModelConfig) =>
    Object.fromEntries(
      [...expectedTensors(config)].filter(([n]) => n.startsWith('model.layers.0.')).map(([n, s]) => [n.slice(15), s]),
    );

  it('Llama (untied): HF names and [out, in] shapes, lm_head last', () => {
    const c = parse(TINYLLAMA_1_1B_CHAT);
    const names = [...expectedTensors(c).keys()];
    assert.equal(names.length, 2 + 22 * 9 + 1);
    assert.equal(names[0], 'model.embed_tokens.weight');
    assert.deepEqual(names.slice(-2), ['model.norm.weight', 'lm_head.weight']);
    assert.deepEqual(expectedTensors(c).get('lm_head.weight'), [32000, 2048]);
    assert.deepEqual(layer0(c), {
      'input_layernorm.weight': [2048],
      'self_attn.q_proj.weight': [2048, 2048],
      'self_attn.k_proj.weight': [256, 2048],
      'self_attn.v_proj.weight': [256, 2048],
      'self_attn.o_proj.weight': [2048, 2048],
      'post_attention_layernorm.weight': [2048],
      'mlp.gate_proj.weight': [5632, 2048],
      'mlp.up_proj.weight': [5632, 2048],
      'mlp.down_proj.weight': [2048, 5632],
    });
  });

  it('Qwen2: q/k/v biases; tied: no lm_head', () => {
    const c = parse(QWEN2_5_0_5B_INSTRUCT);
    const t = expectedTensors(c);
    assert.deepEqual(t.get('model.layers.23.self_attn.q_proj.bias'), [896]);
    assert.deepEqual(t.get('model.layers.0.self_attn.k_proj.bias'), [128]);
    assert.deepEqual(t.get('model.layers.0.self_attn.v_proj.bias'), [128]);
    assert.equal(t.has('model.layers.0.self_attn.o_proj.bias'), false);
    assert.equal(t.has('lm_head.weight'), false);
  });

  it('Qwen3: q_norm/k_norm of [head_dim], projections sized by head_dim', () => {
    const l = layer0(parse(QWEN3_0_6B));
    assert.deepEqual(l['self_attn.q_norm.weight'], [128]);
    assert.deepEqual(l['self_attn.k_norm.weight'], [128]);
    assert.deepEqual(l['self_attn.q_proj.weight'], [2048, 1024]);
    assert.deepEqual(l['self_attn.o_proj.weight'], [1024, 2048]);
    assert.equal(l['self_attn.q_proj.bias'], undefined);
  });

  it("ERNIE 4.5: Llama's names, no bias", () => {
    const t = expectedTensors(parse(ERNIE_4_5_0_3B_PT));
    assert.equal(t.size, 1 + 18 * 9 + 1);
    assert.deepEqual(t.get('model.layers.17.self_attn.k_proj.weight'), [256, 1024]);
    assert.deepEqual(t.get('model.layers.0.mlp.down_proj.weight'), [1024, 3072]);
  });
});

describe('generation_config.json', () => {
  it('parses Qwen3 and merges its eos ids after config.json ones', () => {
    const gen = parseGenerationConfig(
      {
        bos_token_id: 151643,
        do_sample: true,
        eos_token_id: [151645, 151643],
        pad_token_id: 151643,
        temperature: 0.6,
        top_k: 20,
        top_p: 0.95,
        transformers_version: '4.51.0',
      },
      'generation_config.json',
    );
    assert.deepEqual(gen, {
      bosTokenId: 151643,
      eosTokenIds: [151645, 151643],
      padTokenId: 151643,
      doSample: true,
      temperature: 0.6,
      topK: 20,
      topP: 0.95,
    });
    const merged = mergeGenerationConfig(parse(QWEN3_0_6B), gen, 'generation_config.json');
    assert.deepEqual(merged.eosTokenIds, [151645, 151643]);
  });

  it('takes bos from generation_config when config.json has none; null fields count as absent', () => {
    const { bos_token_id: _, ...noBos } = TINYLLAMA_1_1B_CHAT;
    const gen = parseGenerationConfig({ bos_token_id: 1, eos_token_id: 2, max_length: 2048, top_p: null }, 'g.json');
    assert.equal(gen.topP, undefined);
    assert.equal(mergeGenerationConfig(parse(noBos), gen, 'g.json').bosTokenId, 1);
  });

  it('rejects bad fields with the file and value', () => {
    const g = (json: unknown) => () => parseGenerationConfig(json, 'generation_config.json');
    assert.throws(g({ top_p: 1.5 }), { message: 'generation_config.json: top_p (1.5) must be a number > 0 and <= 1' });
    assert.throws(g({ temperature: -1 }), {
      message: 'generation_config.json: temperature (-1) must be a number >= 0',
    });
    assert.throws(g({ top_k: 2.5 }), { message: 'generation_config.json: top_k (2.5) must be a non-negative integer' });
    assert.throws(g({ do_sample: 'yes' }), {
      message: 'generation_config.json: do_sample ("yes") must be true or false',
    });
    assert.throws(g({ eos_token_id: ['</s>'] }), {
      message:
        'generation_config.json: eos_token_id (["</s>"]) must be a token id (a non-negative integer) or a list of them',
    });
    assert.throws(g({ max_new_tokens: 0 }), {
      message: 'generation_config.json: max_new_tokens (0) must be a positive integer',
    });
    assert.throws(g({ repetition_penalty: 0 }), {
      message: 'generation_config.json: repetition_penalty (0) must be a number > 0',
    });
    const gen = parseGenerationConfig({ eos_token_id: [2, 40000] }, 'generation_config.json');
    assert.throws(() => mergeGenerationConfig(parse(TINYLLAMA_1_1B_CHAT), gen, 'generation_config.json'), {
      message: 'generation_config.json: eos_token_id (40000) must be < vocab_size (32000)',
    });
  });
});
