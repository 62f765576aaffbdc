/**
 * Sliding-window attention in the engine's own kernels (Mistral v0.1 style: every layer attends the last W positions,
 * t - W < j <= t): a tiny Mistral with W = 32 and pages of 16, a 100-token prompt prefilled in chunks of 40 (so
 * chunks start mid-window and windows straddle pages and PLAS blocks), then 28 greedy tokens, ~4 windows in all.
 * Its greedy tokens equal the CPU reference with the window (cpu-forward.ts, f16-rounded KV as the engine's default
 * pool), through dense attention and through PLAS told to keep every block (plas_block_size 32, limits 0: the block
 * scores, top-k and union run, and the PLAS kernels mask per position). The reference without the window gives other
 * tokens, so the test sees the window.
 *
 * PLAS's bookkeeping under the window, on a second tiny Mistral with W = 80 (so a query's window spans 5-6 PLAS blocks
 * of 16 and the top-k has something to drop): the attention report counts as candidates only the blocks that
 * intersect each query's window (checked against the count worked out here from the schedule), its densities are
 * <= 1, and a dense limit above W keeps every unit dense (a windowed query never sees more than W tokens).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { EngineConfigInput } from '../../../engine/engine-config.ts';
import { planPlasPrefill } from '../../../engine/gpu/kernels/plas-attention.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { CpuKvCache, cpuForward } from '../../../engine/model/cpu-forward.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { groupTensors, type ModelTensors } from '../../../engine/model/model-tensors.ts';
import { readTensor } from '../../../engine/model/safetensors.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, prompts, runAlone } from './engine-fixture.ts';

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

describe('PLAS density under a sliding window (W = 80, blocks of 16)', () => {
  const W = 80;
  const BLOCK = 16;
  const CHUNK = 40;
  const NEW_TOKENS = 4;
  let windowDir: string;
  let windowModel: LoadedModel;
  before(async () => {
    windowDir = await mkdtemp(join(tmpdir(), 'plas-window-80-'));
    await writeTinyModel(windowDir, { architecture: 'mistral', dtype: 'f32', seed: 6, slidingWindow: W });
    windowModel = await loadModel(await testGpu(), windowDir);
  });
  after(async () => {
    windowModel.dispose();
    await rm(windowDir, { recursive: true, force: true });
  });

  /**
   * Candidate blocks the report must give for one request, worked out from the schedule: prefill chunks of CHUNK
   * tokens cut into union tiles of `tile` tokens, then one unit per decode token. A unit's candidates are the blocks
   * that intersect the windows of its queries, [first - W + 1, last]; every (unit, kv head, layer) counts once.
   */
  function expectedCandidates(prompt: number, tile: number): number {
    const blocks = (first: number, last: number) =>
      Math.floor(last / BLOCK) - Math.floor(Math.max(0, first - W + 1) / BLOCK) + 1;
    let perHead = 0;
    for (let c0 = 0; c0 < prompt; c0 += CHUNK) {
      const c1 = Math.min(prompt, c0 + CHUNK);
      for (let t = c0; t < c1; t += tile) perHead += blocks(t, Math.min(c1, t + tile) - 1);
    }
    for (let pos = prompt; pos < prompt + NEW_TOKENS - 1; pos++) perHead += blocks(pos, pos);
    return perHead * windowModel.dims.kvHeads * windowModel.dims.numLayers;
  }

  it('counts only the blocks inside the window; density <= 1; a dense limit above W keeps every unit dense', async () => {
    const gpu = await testGpu();
    const { dims } = windowModel;
    const tile = Math.floor(
      planPlasPrefill(dims.headDim, gpu.limits.maxComputeWorkgroupStorageSize).rowsPerTile /
        (dims.heads / dims.kvHeads),
    );
    const engine = await Engine.create(gpu, windowModel, {
      cache: { pageSize: 16, memoryBytes: 4 * 2 ** 20 },
      scheduler: { maxNumBatchedTokens: CHUNK, maxNumSeqs: 2 },
      attention: {
        backend: 'plas',
        gate: 'mean',
        statsSampleEvery: 1,
        plas: { plas_block_size: BLOCK, denseLastLayer: false },
      },
    });
    try {
      const [sparsePrompt, densePrompt] = prompts([PROMPT, PROMPT], 23);
      const run = async (ids: number[], limit: number) =>
        (
          await collect(
            engine.generate({
              promptTokenIds: ids,
              sampling: greedy(NEW_TOKENS),
              attention: {
                backend: 'plas',
                plas: {
                  plas_encoder_top_k_left: 1,
                  plas_encoder_top_k_right: 1,
                  plas_decoder_top_k_left: 1,
                  plas_decoder_top_k_right: 1,
                  plas_use_encoder_seq_limit: limit,
                  plas_use_decoder_seq_limit: limit,
                },
              },
            }),
          )
        ).done.attention;
      const want = expectedCandidates(PROMPT, tile);

      // Sparse from the first token: the window's blocks are the candidates, the top-k drops some of them.
      const sparse = await run(sparsePrompt, 0);
      assert.equal(sparse.backend, 'plas');
      assert.equal(sparse.blocksCandidate, want, 'candidates: the blocks inside each query window');
      assert.ok(sparse.blocksSelected < sparse.blocksCandidate, `selected ${sparse.blocksSelected} of ${want}`);
      const densities = [
        sparse.prefillDensity,
        sparse.decodeDensity,
        ...(sparse.layerDensity?.prefill ?? []),
        ...(sparse.layerDensity?.decode ?? []),
      ];
      assert.equal(densities.length, 2 + 2 * dims.numLayers);
      for (const d of densities) assert.ok(d !== null && d > 0 && d <= 1, `density ${d} in (0, 1]`);

      // A limit of 96 > W: no query sees 96 tokens, so every unit stays dense although the sequence reaches 103.
      const dense = await run(densePrompt, 96);
      assert.equal(dense.blocksCandidate, want);
      assert.equal(dense.blocksSelected, dense.blocksCandidate, 'every unit dense: density 1');
      assert.equal(dense.prefillDensity, 1);
      assert.equal(dense.decodeDensity, 1);
    } finally {
      await engine.close();
    }
  });
});
