/**
 * A tiny model sized for the quantized kernels (hidden 256 and intermediate 512, so every projection's rows are whole
 * K-quant super-blocks; a 2048-token vocabulary so whole-vocabulary logits over 256 positions stay cheap on
 * SwiftShader), written as an f32 safetensors folder with the real tokenizer, and loaded either as it is or quantized
 * in memory (uploadWeights' `quantize` option: every 2-D weight to one QuantType; norms and biases stay f32).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { expectedTensors, parseModelConfig } from '../../../engine/model/config.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { SINGLE_FILE } from '../../../engine/model/model-weights.ts';
import { type TensorData, writeSafetensors } from '../../../engine/model/safetensors.ts';
import type { UploadOptions } from '../../../engine/model/upload-weights.ts';
import type { QuantType } from '../../../engine/quant/types.ts';
import { type TinyArchitecture, writeTinyModel } from '../../fixtures/tiny-model.ts';
import { Rng } from '../../helpers/random.ts';

export const QUANT_VOCAB = 2048;
export const QUANT_HIDDEN = 256;

/** Writes the folder: the tiny model's config and tokenizer, resized, with fresh random f32 weights. */
export async function writeQuantFixture(dir: string, architecture: TinyArchitecture, seed: number): Promise<void> {
  await writeTinyModel(dir, { architecture, dtype: 'f32', seed, layers: 1 }); // config + tokenizer files
  const configPath = join(dir, 'config.json');
  const json = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  Object.assign(json, {
    vocab_size: QUANT_VOCAB,
    hidden_size: QUANT_HIDDEN,
    intermediate_size: 512,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: 2,
    bos_token_id: 1,
    eos_token_id: 2,
  });
  if ('head_dim' in json) json.head_dim = 64;
  if ('max_window_layers' in json) json.max_window_layers = 2;
  await writeFile(configPath, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(dir, 'generation_config.json'), `${JSON.stringify({ bos_token_id: 1, eos_token_id: 2 })}\n`);
  const config = parseModelConfig(json, configPath);
  const rng = new Rng(seed);
  const tensors: TensorData[] = [];
  for (const [name, shape] of expectedTensors(config)) {
    let [mean, std] = [0, 1 / Math.sqrt(shape[1] ?? 1)];
    if (name.endsWith('norm.weight')) [mean, std] = [1, 0.05];
    else if (name.endsWith('.bias')) std = 0.1;
    else if (name === 'model.embed_tokens.weight') std = 1;
    else if (name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight')) std = 4 / Math.sqrt(shape[1]);
    const data = rng.normals(
      shape.reduce((a, b) => a * b, 1),
      std,
    );
    if (mean) for (let i = 0; i < data.length; i++) data[i] += mean;
    tensors.push({ name, dtype: 'f32', shape, data });
  }
  await writeSafetensors(join(dir, SINGLE_FILE), tensors, { format: 'pt' });
}

/**
 * Bounds per type: max |logit error| / max |f32 logit| over the 256 x 2048 logits, and the least top-1 agreement.
 * Set from the figures model.test.ts measures (see there) with margin; a GGUF fixture of the same weights should
 * meet them too.
 */
export const QUANT_MODEL_BOUNDS: Record<QuantType, { relError: number; top1: number }> = {
  q8_0: { relError: 0.03, top1: 0.93 },
  q6_k: { relError: 0.09, top1: 0.82 },
  q5_k: { relError: 0.2, top1: 0.68 },
  q4_k: { relError: 0.32, top1: 0.5 },
  q4_0: { relError: 0.4, top1: 0.43 },
};

/** Every 2-D weight (projections, embedding, LM head) as `type`. */
export function quantizeAll(type: QuantType): UploadOptions['quantize'] {
  return (entry) => (entry.shape.length === 2 ? type : undefined);
}

export function loadQuantFixture(gpu: Gpu, dir: string, upload: UploadOptions = {}): Promise<LoadedModel> {
  return loadModel(gpu, dir, undefined, upload);
}
