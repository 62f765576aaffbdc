/**
 * Sliding-window attention in the engine's own kernels (Mistral v0.1 style: every layer attends the last W positions,
 * t - W < j <= t): a tiny Mistral with W = 32 and pages of 16, a 100-token prompt prefilled in chunks of 40 (so
 * chunks start mid-window and windows straddle pages and PLAS blocks), then 28 greedy tokens, ~4 windows in all.
 * Its greedy tokens equal the CPU reference with the window (cpu-forward.ts, f16-rounded KV as the engine's default
 * pool), through dense attention and through PLAS told to keep every block (plas_block_size 32, limits 0: the block
 * scores, top-k and union run, and the PLAS kernels mask per position). The reference without the window gives other
 * tokens, so the test sees the window.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { CpuKvCache, cpuForward } from '../../../engine/model/cpu-forward.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { groupTensors, type ModelTensors } from '../../../engine/model/model-tensors.ts';
import { readTensor } from '../../../engine/model/safetensors.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { greedy, prompts, runAlone } from './engine-fixture.ts';

const WINDOW = 32;
const PROMPT = 100;
const GENERATED = 28;

let dir: string;
let model: LoadedModel;
let cpu: ModelTensors<Float32Array>;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-window-'));
  await writeTinyModel(dir, { architecture: 'mistral', dtype: 'f32', seed: 5, slidingWindow: WINDOW });
  model = await loadModel(await testGpu(), dir);
  const values = new Map<string, Float32Array>();
  for (const name of model.expected.keys()) values.set(name, await readTensor(model.weights.tensors.get(name)!));
  cpu = groupTensors((n) => values.get(n), model.config.numLayers, 'model', model.config.tieWordEmbeddings);
});
after(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

function cpuGreedy(ids: number[], window: number, dtype: KvDType): number[] {
  const kv = new CpuKvCache(model.dims, ids.length + GENERATED, { window, dtype });
  let logits = cpuForward(model.dims, cpu, kv, ids, 0);
  const out: number[] = [];
  for (let i = 0; i < GENERATED; i++) {
    let next = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[next]) next = v;
    out.push(next);
    if (i + 1 < GENERATED) logits = cpuForward(model.dims, cpu, kv, [next], kv.length);
  }
  return out;
}

async function engineGreedy(ids: number[], input: EngineConfigInput): Promise<number[]> {
  const engine = await Engine.create(await testGpu(), model, {
    ...input,
    cache: { pageSize: 16, memoryBytes: 4 * 2 ** 20, ...input.cache },
    scheduler: { maxNumBatchedTokens: 40, maxNumSeqs: 2 },
  });
  try {
    return await runAlone(engine, ids, greedy(GENERATED));
  } finally {
    await engine.close();
  }
}

describe('sliding-window attention (W = 32) through the engine', () => {
  const [ids] = prompts([PROMPT], 17);

  it('the model declares the window, and the reference without it gives other tokens', () => {
    assert.equal(model.config.slidingWindow, WINDOW);
    assert.notDeepEqual(cpuGreedy(ids, WINDOW, 'f16'), cpuGreedy(ids, 0, 'f16'));
  });

  it('dense paged attention, f16 and f32 KV, gives the windowed reference tokens', async () => {
    for (const dtype of ['f16', 'f32'] as const) {
      const got = await engineGreedy(ids, { cache: { dtype }, attention: { allowPlas: false } });
      assert.deepEqual(got, cpuGreedy(ids, WINDOW, dtype), `${dtype} KV`);
    }
  });

  it('PLAS keeping every block gives the windowed reference tokens', async () => {
    const all = 64;
    const got = await engineGreedy(ids, {
      attention: {
        backend: 'plas',
        gate: 'mean',
        plas: {
          plas_block_size: 32,
          plas_encoder_top_k_left: all,
          plas_encoder_top_k_right: all,
          plas_decoder_top_k_left: all,
          plas_decoder_top_k_right: all,
          plas_use_encoder_seq_limit: 0,
          plas_use_decoder_seq_limit: 0,
          denseLastLayer: false,
        },
      },
    });
    assert.deepEqual(got, cpuGreedy(ids, WINDOW, 'f16'));
  });
});
