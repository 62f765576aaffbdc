/**
 * Learned PLAS gates: `plas_attention_mlp_weight.safetensors` in a model folder holds, per layer,
 * `<prefix>.layers.<i>.self_attn.attn_gate.weight` of shape [num_kv_heads, block_size, head_dim] (prefix `model` or
 * `ernie`). The compressed key of a block is then Kc[h, d] = sum_p W[h, p, d] * K[p, h, d] instead of the mean of its
 * keys. The file is optional, and so is every layer in it: a layer without a weight uses mean pooling.
 *
 * Ours: the same file may hold the gate in key-bound form, `<prefix>.layers.<i>.self_attn.attn_gate.bound_weight` of
 * shape [num_kv_heads, 4, head_dim] (tools/train/distil_gate.py --form bound): per channel the weights of a query's
 * positive and negative parts on a block's key max and min (shaders/plas_block_scores.wgsl, summary 3), for the block
 * score 'bound-gate'. A layer without one scores by the plain key bound.
 */
import { access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { SafetensorsError } from '../model/errors.ts';
import { formatShape, openSafetensors, readTensor, type TensorData, writeSafetensors } from '../model/safetensors.ts';

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

const NAME = /^(model|ernie)\.layers\.(\d+)\.self_attn\.attn_gate\.(weight|bound_weight)$/;
/** The bound form's rows: the weights of q+ and q- on the key max, then on the key min. */
const BOUND_ROWS = 4;

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
  /** Per layer: the key-bound form f32 [kvHeads, 4, headDim], or null for the plain key bound. */
  boundLayers: (Float32Array | null)[];
}

/**
 * Read the gate weights of a model (a folder, a GGUF file, or the gate file itself: gateFileOf), if it has them. A
 * misshapen or misnamed weight fails with what was expected.
 */
export async function loadPlasGateWeights(model: string, shape: GateShape): Promise<PlasGateWeights> {
  const path = gateFileOf(model);
  const none = () => Array.from({ length: shape.numLayers }, (): Float32Array | null => null);
  const layers = none();
  const boundLayers = none();
  try {
    await access(path);
  } catch {
    return { file: null, layers, boundLayers };
  }
  const file = await openSafetensors(path);
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
    const bound = match[3] === 'bound_weight';
    const into = bound ? boundLayers : layers;
    if (into[layer]) throw new SafetensorsError(path, `${name}: layer ${layer} has two gate weights`);
    const expected = [shape.kvHeads, bound ? BOUND_ROWS : shape.blockSize, shape.headDim];
    if (entry.shape.length !== 3 || entry.shape.some((d, i) => d !== expected[i])) {
      const dims = bound ? '[num_kv_heads, 4, head_dim]' : '[num_kv_heads, plas_block_size, head_dim]';
      const why = bound ? 'another model' : 'another model or block size';
      throw new SafetensorsError(
        path,
        `${name} has shape ${formatShape(entry.shape)}, expected ${formatShape(expected)} ${dims}: the gate was ` +
          `trained for ${why}`,
      );
    }
    into[layer] = await readTensor(entry);
    found++;
  }
  if (found === 0) {
    throw new SafetensorsError(
      path,
      'holds no PLAS gate weights (expected tensors named like model.layers.0.self_attn.attn_gate.weight)',
    );
  }
  return { file: path, layers, boundLayers };
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
    if (NAME.exec(name)?.[3] === 'weight' && entry.shape.length === 3) return entry.shape[1];
  }
  return null; // no sum-form gate (a bound-form one has no block size), or loadPlasGateWeights reports what is wrong
}

/**
 * Which layers have a learned gate, for the load report: "learned gate on layers 0-3, 5; mean pooling on 4, 6-27",
 * and where the file has them "; key-bound gate on layers 0-3".
 */
export function describeGate(g: PlasGateWeights): string {
  if (!g.file) return `mean pooling on all ${g.layers.length} layers (no ${GATE_WEIGHT_FILE})`;
  const learned = g.layers.flatMap((w, i) => (w ? [i] : []));
  const mean = g.layers.flatMap((w, i) => (w ? [] : [i]));
  const bound = g.boundLayers.flatMap((w, i) => (w ? [i] : []));
  const parts = [
    learned.length ? `learned gate on layers ${ranges(learned)}` : '',
    mean.length ? `mean pooling on ${learned.length ? '' : 'layers '}${ranges(mean)}` : '',
    bound.length ? `key-bound gate on layers ${ranges(bound)}` : '',
  ];
  return parts.filter(Boolean).join('; ');
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

/** A layer's learned gates on the GPU: the sum form for plas_key_sums, the key-bound form for plas_block_scores. */
export interface LayerGate {
  /** f32 [kvHeads, blockSize, D]; absent: mean pooling. */
  sum?: Tensor;
  /** f32 [kvHeads, 4, D]; absent: the plain key bound. */
  bound?: Tensor;
}

/** Each layer's learned gates as f32 tensors (a field absent where the file has no weight of that form). */
export function uploadGateWeights(gpu: Gpu, g: PlasGateWeights, shape: GateShape): LayerGate[] {
  const { kvHeads, blockSize, headDim } = shape;
  return g.layers.map((w, i) => {
    const b = g.boundLayers[i];
    return {
      ...(w ? { sum: gpu.upload('f32', [kvHeads, blockSize, headDim], w, `plas gate layer ${i}`) } : {}),
      ...(b ? { bound: gpu.upload('f32', [kvHeads, BOUND_ROWS, headDim], b, `plas bound gate layer ${i}`) } : {}),
    };
  });
}

/**
 * Write learned gates (per layer f32 [kvHeads, blockSize, D]) as plas_attention_mlp_weight.safetensors, in the
 * documented names. The key-bound form in `keepBoundFormOf` (default: the file written) is kept: it is trained apart
 * (distil_gate.py --form bound). Written to a temporary file first and renamed, so a gate file is never half written.
 */
export async function writeGateWeights(
  path: string,
  layers: readonly Float32Array[],
  shape: GateShape,
  metadata: Record<string, string> = {},
  keepBoundFormOf: string = path,
): Promise<void> {
  const dims = [shape.kvHeads, shape.blockSize, shape.headDim];
  const tensors: TensorData[] = layers.map((data, i) => ({
    name: `model.layers.${i}.self_attn.attn_gate.weight`,
    dtype: 'f32' as const,
    shape: dims,
    data,
  }));
  tensors.push(...(await boundFormOf(keepBoundFormOf)));
  const tmp = `${path}.tmp-${process.pid}`;
  await writeSafetensors(tmp, tensors, metadata);
  await rename(tmp, path);
}

/** The key-bound form's tensors of an existing gate file (none when there is no file): a new sum gate keeps them. */
async function boundFormOf(path: string): Promise<TensorData[]> {
  try {
    await access(path);
  } catch {
    return [];
  }
  const file = await openSafetensors(path);
  const kept: TensorData[] = [];
  for (const [name, entry] of file.tensors) {
    if (NAME.exec(name)?.[3] !== 'bound_weight') continue;
    kept.push({ name, dtype: 'f32', shape: [...entry.shape], data: await readTensor(entry) });
  }
  return kept;
}
