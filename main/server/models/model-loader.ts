/** Loading a model folder onto the GPU and starting its engine, as one step the manager can swap out in tests. */
import { Engine } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import type { LoadProgress } from '../../../engine/model/upload-weights.ts';

export type ModelLoader = (
  gpu: Gpu,
  dir: string,
  config: EngineConfigInput,
  onProgress: LoadProgress,
) => Promise<{ model: LoadedModel; engine: Engine }>;

export const engineLoader: ModelLoader = async (gpu, dir, config, onProgress) => {
  const model = await loadModel(gpu, dir, onProgress);
  try {
    return { model, engine: await Engine.create(gpu, model, config) };
  } catch (error) {
    model.dispose(); // an engine that cannot start (KV budget, PLAS config) must not leave the weights on the GPU
    throw error;
  }
};
