/**
 * llama.cpp's tensor names (gguf-py's TensorNameMap) <-> the Hugging Face names the engine uses, for the decoder-only
 * architectures the engine runs. Layer tensors are `blk.N.<part>` in GGUF and `model.layers.N.<part>` in HF.
 */

const GLOBAL: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

const LAYER: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
};

/** The GGUF name of an HF tensor name, or undefined for a tensor llama.cpp has no name for here. */
export function ggufTensorName(hfName: string): string | undefined {
  if (hfName in GLOBAL) return GLOBAL[hfName];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (!m || !(m[2] in LAYER)) return undefined;
  return `blk.${m[1]}.${LAYER[m[2]]}`;
}

/** The llama.cpp tensor holding Llama 3.1-style RoPE frequency factors (one per rotated pair). */
export const ROPE_FREQS_TENSOR = 'rope_freqs.weight';
