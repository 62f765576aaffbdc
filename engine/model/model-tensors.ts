/**
 * The weights of a decoder-only transformer grouped by role, whatever the architecture calls them. Generic over the
 * storage: GPU tensors for the runner, Float32Arrays for the CPU oracle.
 */

export interface LayerTensors<T> {
  inputNorm: T; // [H]
  q: T; // [heads*D, H]
  k: T; // [kvHeads*D, H]
  v: T; // [kvHeads*D, H]
  qBias?: T; // [heads*D] (Qwen2)
  kBias?: T; // [kvHeads*D]
  vBias?: T; // [kvHeads*D]
  qNorm?: T; // [D] (Qwen3: RMSNorm over each head before RoPE)
  kNorm?: T; // [D]
  o: T; // [H, heads*D]
  postAttentionNorm: T; // [H]
  gate: T; // [I, H]
  up: T; // [I, H]
  down: T; // [H, I]
}

export interface ModelTensors<T> {
  embed: T; // [V, H]
  layers: LayerTensors<T>[];
  norm: T; // [H]
  lmHead: T; // [V, H] (the embedding when tied)
}

/** Hugging Face tensor names for one layer's roles. Every supported architecture uses these under its prefix. */
export function layerTensorNames(prefix: string, i: number): Record<keyof LayerTensors<unknown>, string> {
  const p = `${prefix}.layers.${i}`;
  return {
    inputNorm: `${p}.input_layernorm.weight`,
    q: `${p}.self_attn.q_proj.weight`,
    k: `${p}.self_attn.k_proj.weight`,
    v: `${p}.self_attn.v_proj.weight`,
    qBias: `${p}.self_attn.q_proj.bias`,
    kBias: `${p}.self_attn.k_proj.bias`,
    vBias: `${p}.self_attn.v_proj.bias`,
    qNorm: `${p}.self_attn.q_norm.weight`,
    kNorm: `${p}.self_attn.k_norm.weight`,
    o: `${p}.self_attn.o_proj.weight`,
    postAttentionNorm: `${p}.post_attention_layernorm.weight`,
    gate: `${p}.mlp.gate_proj.weight`,
    up: `${p}.mlp.up_proj.weight`,
    down: `${p}.mlp.down_proj.weight`,
  };
}

/** Group a name -> tensor lookup into roles; optional roles are taken when present. */
export function groupTensors<T>(
  get: (name: string) => T | undefined,
  numLayers: number,
  prefix: string,
  tied: boolean,
): ModelTensors<T> {
  const need = (name: string): T => {
    const t = get(name);
    if (t === undefined) throw new Error(`missing tensor ${name}`);
    return t;
  };
  const layers: LayerTensors<T>[] = [];
  for (let i = 0; i < numLayers; i++) {
    const n = layerTensorNames(prefix, i);
    const layer: LayerTensors<T> = {
      inputNorm: need(n.inputNorm),
      q: need(n.q),
      k: need(n.k),
      v: need(n.v),
      o: need(n.o),
      postAttentionNorm: need(n.postAttentionNorm),
      gate: need(n.gate),
      up: need(n.up),
      down: need(n.down),
    };
    for (const role of ['qBias', 'kBias', 'vBias', 'qNorm', 'kNorm'] as const) {
      const t = get(n[role]);
      if (t !== undefined) layer[role] = t;
    }
    layers.push(layer);
  }
  const embed = need(`${prefix}.embed_tokens.weight`);
  return { embed, layers, norm: need(`${prefix}.norm.weight`), lmHead: tied ? embed : need('lm_head.weight') };
}
