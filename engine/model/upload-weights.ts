/**
 * Streams a model's tensors from disk to the GPU, chunk by chunk (no second copy of the model in JavaScript memory),
 * reporting progress. On any failure every tensor already created is destroyed, so a bad file leaves no GPU memory
 * behind.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { ModelWeightsError } from './errors.ts';
import type { ModelWeights } from './model-weights.ts';
import { readTensorChunks } from './safetensors.ts';

const CHUNK_BYTES = 16 * 2 ** 20;

export type LoadProgress = (loadedBytes: number, totalBytes: number, tensor: string) => void;

export async function uploadWeights(
  gpu: Gpu,
  weights: ModelWeights,
  names: Iterable<string>,
  onProgress: LoadProgress = () => {},
): Promise<Map<string, Tensor>> {
  const entries = [...names].map((name) => {
    const entry = weights.tensors.get(name);
    if (!entry) throw new ModelWeightsError(weights.dir, `missing tensor ${name}`);
    return entry;
  });
  const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  for (const e of entries) {
    if (e.byteLength > limit) {
      throw new ModelWeightsError(
        e.file,
        `tensor ${e.name} is ${e.byteLength} bytes, over this adapter's ${limit}-byte buffer limit (tensor sharding is not implemented yet)`,
      );
    }
  }
  const total = entries.reduce((sum, e) => sum + e.byteLength, 0);
  const tensors = new Map<string, Tensor>();
  let loaded = 0;
  try {
    for (const e of entries) {
      const tensor = gpu.createTensor(e.dtype, e.shape, e.name);
      tensors.set(e.name, tensor);
      await readTensorChunks(e, CHUNK_BYTES, (chunk, offset) => {
        gpu.writeBytes(tensor, chunk, offset); // copies: the chunk's memory is reused for the next read
        loaded += chunk.byteLength;
        onProgress(loaded, total, e.name);
      });
    }
    await gpu.device.queue.onSubmittedWorkDone();
    gpu.throwIfLost();
    return tensors;
  } catch (error) {
    for (const t of tensors.values()) t.buffer.destroy();
    throw error;
  }
}
