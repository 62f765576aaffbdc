/**
 * Learned PLAS gates: `plas_attention_mlp_weight.safetensors` in a model folder holds, per layer,
 * `<prefix>.layers.<i>.self_attn.attn_gate.weight` of shape [num_kv_heads, block_size, head_dim] (prefix `model` or
 * `ernie`). The compressed key of a block is then Kc[h, d] = sum_p W[h, p, d] * K[p, h, d] instead of the mean of its
 * keys. The file is optional, and so is every layer in it: a layer without a weight uses mean pooling.
 */
import { access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { SafetensorsError } from '../model/errors.ts';
import { formatShape, openSafetensors, readTensor, writeSafetensors } from '../model/safetensors.ts';

export const GATE_WEIGHT_FILE = 'plas_attention_mlp_weight.safetensors';
/** A GGUF model is one file, often in a folder of several models: its gate is `<model>.gguf` + this, beside it. */
export const GGUF_GATE_SUFFIX = '.plas-gate.safetensors';

/**
 * The gate file of a model: a model folder's plas_attention_mlp_weight.safetensors, a GGUF file's
 * `<file>.plas-gate.safetensors`, or the path itself when it is already a .safetensors gate file.
 */
export function gateFileOf(modelPath: string): string {
  if (/\.safetensors$/i.test(modelPath)) return modelPath;
  if (/\.gguf$/i.test(modelPath)) return `${modelPath}${GGUF_GATE_SUFFIX}`;
  return join(modelPath, GATE_WEIGHT_FILE);
}

const NAME = /^(model|ernie)\.layers\.(\d+)\.self_attn\.attn_gate\.weight$/;

export interface GateShape {
  numLayers: number;
  kvHeads: number;
  headDim: number;
  blockSize: number;
}

export interface PlasGateWeights {
  /** The file read, or null when the folder has none (mean pooling everywhere). */
  file: string | null;
  /** Per layer: f32 [kvHeads, blockSize, headDim], or null for mean pooling. */
  layers: (Float32Array | null)[];
}

/**
 * Read the gate weights of a model (a folder, a GGUF file, or the gate file itself: gateFileOf), if it has them. A
 * misshapen or misnamed weight fails with what was expected.
 */
export async function loadPlasGateWeights(model: string, shape: GateShape): Promise<PlasGateWeights> {
  const path = gateFileOf(model);
  const layers: (Float32Array | null)[] = Array.from({ length: shape.numLayers }, () => null);
  try {
    await access(path);
  } catch {
    return { file: null, layers };
  }
  const file = await openSafetensors(path);
  const expected = [shape.kvHeads, shape.blockSize, shape.headDim];
  let found = 0;
  for (const [name, entry] of file.tensors) {
    const match = NAME.exec(name);
    if (!match) continue;
    const layer = Number(match[2]);
    if (layer >= shape.numLayers) {
      throw new SafetensorsError(
        path,
        `${name}: layer ${layer} is out of range (the model has ${shape.numLayers} layers)`,
      );
    }
    if (layers[layer]) throw new SafetensorsError(path, `${name}: layer ${layer} has two gate weights`);
    if (entry.shape.length !== 3 || entry.shape.some((d, i) => d !== expected[i])) {
      throw new SafetensorsError(
        path,
        `${name} has shape ${formatShape(entry.shape)}, expected ${formatShape(expected)} ` +
          '[num_kv_heads, plas_block_size, head_dim]: the gate was trained for another model or block size',
      );
    }
    layers[layer] = await readTensor(entry);
    found++;
  }
  if (found === 0) {
    throw new SafetensorsError(
      path,
      'holds no PLAS gate weights (expected tensors named like model.layers.0.self_attn.attn_gate.weight)',
    );
  }
  return { file: path, layers };
}

/**
 * The block size a folder's gate was trained for (dimension 1 of its weights), or null when the folder has no gate
 * file. A model whose gate is learnt for 64-token blocks runs PLAS with 64-token blocks unless told otherwise.
 */
export async function gateBlockSize(model: string): Promise<number | null> {
  const path = gateFileOf(model);
  try {
    await access(path);
  } catch {
    return null;
  }
  const file = await openSafetensors(path);
  for (const [name, entry] of file.tensors) {
    if (NAME.test(name) && entry.shape.length === 3) return entry.shape[1];
  }
  return null; // loadPlasGateWeights reports what is wrong with the file
}

/** Which layers have a learned gate, for the load report: "learned gate on layers 0-3, 5; mean pooling on 4, 6-27". */
export function describeGate(g: PlasGateWeights): string {
  if (!g.file) return `mean pooling on all ${g.layers.length} layers (no ${GATE_WEIGHT_FILE})`;
  const learned = g.layers.flatMap((w, i) => (w ? [i] : []));
  const mean = g.layers.flatMap((w, i) => (w ? [] : [i]));
  const text = `learned gate on layers ${ranges(learned)}`;
  return mean.length ? `${text}; mean pooling on ${ranges(mean)}` : text;
}

function ranges(ids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    parts.push(j === i ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** The learned layers as f32 tensors for plas_key_sums (undefined where a layer uses mean pooling). */
export function uploadGateWeights(gpu: Gpu, g: PlasGateWeights, shape: GateShape): (Tensor | undefined)[] {
  return g.layers.map((w, i) =>
    w ? gpu.upload('f32', [shape.kvHeads, shape.blockSize, shape.headDim], w, `plas gate layer ${i}`) : undefined,
  );
}

/**
 * Write learned gates (per layer f32 [kvHeads, blockSize, D]) as plas_attention_mlp_weight.safetensors, in the
 * documented names. Written to a temporary file first and renamed, so a gate file is never half written.
 */
export async function writeGateWeights(
  path: string,
  layers: readonly Float32Array[],
  shape: GateShape,
  metadata: Record<string, string> = {},
): Promise<void> {
  const dims = [shape.kvHeads, shape.blockSize, shape.headDim];
  const tensors = layers.map((data, i) => ({
    name: `model.layers.${i}.self_attn.attn_gate.weight`,
    dtype: 'f32' as const,
    shape: dims,
    data,
  }));
  const tmp = `${path}.tmp-${process.pid}`;
  await writeSafetensors(tmp, tensors, metadata);
  await rename(tmp, path);
}
