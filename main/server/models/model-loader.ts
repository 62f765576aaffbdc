/** Loading a model folder onto the GPU and starting its engine, as one step the manager can swap out in tests. */
import { Engine } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { LoadProgress } from '../../../engine/model/upload-weights.ts';

export type ModelLoader = (
  gpu: Gpu,
  dir: string,
  config: EngineConfigInput,
  onProgress: LoadProgress,
) => Promise<{ model: LoadedModel; engine: Engine }>;

// Engine.load checks the weights and the KV pool against the adapter before uploading, and frees the weights when the
// engine cannot start (KV budget, PLAS config).
export const engineLoader: ModelLoader = (gpu, dir, config, onProgress) => Engine.load(gpu, dir, config, onProgress);
