/** A tiny model loaded once per test file, and helpers to run requests through the Engine. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, EngineEvent } from '../../../engine/engine.ts';
import { type SamplingParams, samplingParams } from '../../../engine/generation/sampling-params.ts';
import { CpuKvCache, type CpuKvOptions, cpuForward } from '../../../engine/model/cpu-forward.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { groupTensors } from '../../../engine/model/model-tensors.ts';
import { readTensor } from '../../../engine/model/safetensors.ts';
import type { PlasConfig } from '../../../engine/plas/config.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';

export async function tinyEngineModel(): Promise<{ model: LoadedModel; cleanup: () => Promise<void> }> {
  const gpu = await testGpu();
  const dir = await mkdtemp(join(tmpdir(), 'plas-engine-'));
  await writeTinyModel(dir, { architecture: 'llama', dtype: 'f16', seed: 21 });
  const model = await loadModel(gpu, dir);
  return {
    model,
    cleanup: async () => {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function greedy(maxTokens: number, extra: Partial<SamplingParams> = {}): SamplingParams {
  return samplingParams({ temperature: 0, maxTokens, ignoreEos: true, ...extra });
}

/** Distinct prompts of the given lengths (token ids drawn from the ordinary vocabulary). */
export function prompts(lengths: readonly number[], seed = 1): number[][] {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
  return lengths.map((n) => Array.from({ length: n }, () => 100 + (next() % 20000)));
}

export interface Collected {
  ids: number[];
  text: string;
  done: Extract<EngineEvent, { type: 'done' }>;
  /** Order in which this request's events were seen, across requests (shared counter). */
  tokenSeq: number[];
}

let seq = 0;

export async function collect(events: AsyncIterable<EngineEvent>): Promise<Collected> {
  const ids: number[] = [];
  const tokenSeq: number[] = [];
  let text = '';
  for await (const e of events) {
    if (e.type === 'token') {
      ids.push(...e.ids);
      text += e.text;
      tokenSeq.push(seq++);
    } else return { ids, text, done: e, tokenSeq };
  }
  throw new Error('the stream ended without a done event');
}

export async function runAlone(engine: Engine, prompt: number[], params: SamplingParams): Promise<number[]> {
  return (await collect(engine.generate({ promptTokenIds: prompt, sampling: params }))).ids;
}

/**
 * Greedy tokens on the CPU oracle (engine/model/cpu-forward.ts, the kernels' twins): the independent reference the
 * engine's tokens are compared with. options.dtype 'f16' rounds K and V as the engine's default pool does.
 */
export async function cpuGreedy(
  model: LoadedModel,
  prompt: readonly number[],
  n: number,
  options: CpuKvOptions = {},
): Promise<number[]> {
  const values = new Map<string, Float32Array>();
  for (const name of model.expected.keys()) values.set(name, await readTensor(model.weights.tensors.get(name)!));
  const w = groupTensors((name) => values.get(name), model.config.numLayers, 'model', model.config.tieWordEmbeddings);
  const kv = new CpuKvCache(model.dims, prompt.length + n, options);
  let logits = cpuForward(model.dims, w, kv, [...prompt], 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let next = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[next]) next = v;
    out.push(next);
    if (i + 1 < n) logits = cpuForward(model.dims, w, kv, [next], kv.length);
  }
  return out;
}

/** Blocks of 32 tokens (pages of 16); keep 2-3 blocks; dense only below 64 tokens: a 300-token prompt has ~10 blocks. */
export const SPARSE_PLAS: Partial<PlasConfig> = {
  plas_block_size: 32,
  plas_encoder_top_k_left: 2,
  plas_encoder_top_k_right: 3,
  plas_decoder_top_k_left: 2,
  plas_decoder_top_k_right: 3,
  plas_use_encoder_seq_limit: 64,
  plas_use_decoder_seq_limit: 64,
};

/** KV memory for test engines: plenty for the tiny model (8 KiB a 16-token page), small for SwiftShader's host memory. */
export const MB32 = 32 * 2 ** 20;
