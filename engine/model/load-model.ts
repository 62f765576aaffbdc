/**
 * A model loaded on the GPU: its folder's description, dims, and weight tensors grouped by role. `dispose()` frees
 * every GPU buffer it holds.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { type Tensor, tensorBuffers } from '../gpu/tensor.ts';
import type { ModelConfig } from './config.ts';
import type { ModelDims } from './dims.ts';
import { type ModelFolder, readModelFolder } from './model-folder.ts';
import { groupTensors, type ModelTensors } from './model-tensors.ts';
import { type LoadProgress, plannedWeightBytes, type UploadOptions, uploadWeights } from './upload-weights.ts';

export interface LoadedModel extends ModelFolder {
  dims: ModelDims;
  weights: ModelFolder['weights'];
  tensors: ModelTensors<Tensor>;
  /** Bytes of weights on the GPU. */
  weightBytes: number;
  loadMs: number;
  dispose(): void;
}

export function modelDims(c: ModelConfig): ModelDims {
  return {
    hidden: c.hiddenSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    intermediate: c.intermediateSize,
    vocab: c.vocabSize,
    numLayers: c.numLayers,
    rmsNormEps: c.rmsNormEps,
    rope: {
      headDim: c.headDim,
      theta: c.ropeTheta,
      style: c.rope.style,
      ...(c.rope.scaling ? { scaling: c.rope.scaling } : {}),
    },
  };
}

/** Every supported architecture keeps its layers under `model.` in Hugging Face's layout. */
const PREFIX = 'model';

/** What a model will take on the GPU, known from its headers before anything is uploaded. */
export interface WeightPlan {
  config: ModelConfig;
  dims: ModelDims;
  /** GPU bytes of the weights as they will be uploaded (LoadedModel.weightBytes). */
  weightBytes: number;
}

export interface LoadOptions extends UploadOptions {
  /**
   * Called after every header is read and checked and before any weight is uploaded: throw to refuse the load (the
   * Engine checks its KV pool next to the weights against the adapter's limits here; see Engine.load).
   */
  beforeUpload?: (plan: WeightPlan) => void;
}

/**
 * `options`: a check before upload (beforeUpload), a lower binding limit (tests of split tensors), in-memory
 * quantization (tests of quantized models).
 */
export async function loadModel(
  gpu: Gpu,
  dir: string,
  onProgress?: LoadProgress,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const start = performance.now();
  const folder = await readModelFolder(dir);
  const { beforeUpload, ...upload } = options;
  if (beforeUpload) {
    const weightBytes = plannedWeightBytes(gpu, folder.weights, folder.expected.keys(), upload);
    beforeUpload({ config: folder.config, dims: modelDims(folder.config), weightBytes });
  }
  const byName = await uploadWeights(gpu, folder.weights, folder.expected.keys(), onProgress, upload);
  const tensors = groupTensors(
    (name) => byName.get(name),
    folder.config.numLayers,
    PREFIX,
    folder.config.tieWordEmbeddings,
  );
  let weightBytes = 0;
  for (const t of byName.values()) for (const b of tensorBuffers(t)) weightBytes += b.size;
  return {
    ...folder,
    dims: modelDims(folder.config),
    tensors,
    weightBytes,
    loadMs: performance.now() - start,
    dispose() {
      for (const t of byName.values()) for (const b of tensorBuffers(t)) b.destroy();
      byName.clear();
    },
  };
}
