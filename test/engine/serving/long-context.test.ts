/**
 * A 128K-token context on a small fixture model, through the whole engine: chunked prefill of 131,068 tokens with
 * PLAS sparse attention on every layer (dense prefill at this length is ~1e12 FLOPs, hours on SwiftShader), then
 * decode; the KV pool holds two such sequences, one K and one V buffer per layer.
 *
 * Then exactness at that length: the same prompt again, with PLAS told to keep every block, hits the prefix cache for
 * all but the last partial page, and its greedy tokens must equal a CPU reference that attends densely over all
 * 131K keys. The fixture has one layer, so its K/V depend only on each token and its position (not on how the first
 * request's sparse attention went), and the reference computes them directly from the twins.
 *
 * The prompt is made of runs of 128 equal tokens, so queries within a 128-token prefill tile look alike and their
 * block selections overlap, as in a real model (random tokens through random weights select unrelated blocks, and
 * the tile union then covers most of the context).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { CpuKvCache, cpuForward } from '../../../engine/model/cpu-forward.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { groupTensors, type ModelTensors } from '../../../engine/model/model-tensors.ts';
import { readTensor } from '../../../engine/model/safetensors.ts';
import { embedding } from '../../../engine/reference/embedding.ts';
import { matmul } from '../../../engine/reference/matmul.ts';
import { storeKv } from '../../../engine/reference/paged-attention.ts';
import { rmsnorm } from '../../../engine/reference/rmsnorm.ts';
import { rope } from '../../../engine/reference/rope.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy } from './engine-fixture.ts';

const CONTEXT = 131072;
const GENERATED = 4;
const PROMPT = CONTEXT - GENERATED;
const RUN = 128;

let dir: string;
let model: LoadedModel;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-long-'));
  await writeTinyModel(dir, {
    architecture: 'llama',
    dtype: 'f32',
    seed: 31,
    layers: 1,
    heads: 1,
    kvHeads: 1,
    headDim: 8,
  });
  model = await loadModel(await testGpu(), dir);
});
after(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

function prompt(): number[] {
  let s = 7;
  const runs = Array.from({ length: Math.ceil(PROMPT / RUN) }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 100 + (s % 20000);
  });
  return Array.from({ length: PROMPT }, (_, i) => runs[Math.floor(i / RUN)]);
}

async function cpuTensors(m: LoadedModel): Promise<ModelTensors<Float32Array>> {
  const values = new Map<string, Float32Array>();
  for (const name of m.expected.keys()) values.set(name, await readTensor(m.weights.tensors.get(name)!));
  return groupTensors((n) => values.get(n), m.config.numLayers, 'model', m.config.tieWordEmbeddings);
}

/** Greedy tokens with dense attention over the whole context, on the CPU, K and V rounded to f16 as the engine's pool. */
async function cpuGreedy(ids: number[], n: number): Promise<number[]> {
  const d = model.dims;
  const w = await cpuTensors(model);
  const kv = new CpuKvCache(d, ids.length + n, { dtype: 'f16' });
  // Layer 0's K/V of the first T tokens: embedding -> input norm -> k/v projections -> RoPE; no attention needed.
  const T = ids.length - 1;
  const kvDim = d.kvHeads * d.headDim;
  const x = embedding(ids.slice(0, T), w.embed, d.vocab, d.hidden); // [T, H]
  const normed = rmsnorm(x, w.layers[0].inputNorm, T, d.hidden, d.rmsNormEps).out;
  const positions = Array.from({ length: T }, (_, i) => i);
  const k = rope(matmul(normed, w.layers[0].k, w.layers[0].kBias, T, kvDim, d.hidden), positions, d.kvHeads, d.rope);
  kv.k[0].set(storeKv(k, 'f16'));
  kv.v[0].set(storeKv(matmul(normed, w.layers[0].v, w.layers[0].vBias, T, kvDim, d.hidden), 'f16'));
  kv.length = T;
  const out: number[] = [];
  let next = ids[T];
  for (let i = 0; i < n; i++) {
    const logits = cpuForward(d, w, kv, [next], kv.length);
    next = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[next]) next = v;
    out.push(next);
  }
  return out;
}

it('a 131,072-token context prefills with PLAS, decodes, and matches dense attention exactly', async () => {
  assert.equal(model.dims.numLayers, 1);
  const gpu = await testGpu();
  const engine = await Engine.create(gpu, model, {
    cache: { numPages: 2 * Math.ceil(CONTEXT / 64) + 2 },
    scheduler: { maxNumBatchedTokens: 8192, maxNumSeqs: 2 },
    attention: {
      backend: 'plas',
      statsSampleEvery: 4,
      plas: {
        plas_encoder_top_k_left: 2,
        plas_encoder_top_k_right: 3,
        plas_decoder_top_k_left: 2,
        plas_decoder_top_k_right: 3,
        denseLastLayer: false,
      },
    },
  });
  const ids = prompt();
  const kv = engine.stats().kv;
  assert.ok(kv.tokensThatFit >= 2 * CONTEXT, `${kv.tokensThatFit} tokens fit`);
  assert.equal(kv.buffers, 2, 'one K and one V buffer for the one layer');

  const sparse = await collect(engine.generate({ id: 'sparse', promptTokenIds: ids, sampling: greedy(GENERATED) }));
  assert.equal(sparse.ids.length, GENERATED);
  assert.equal(sparse.done.usage.promptTokens, PROMPT);
  const stats = await engine.settledStats();
  assert.ok(stats.steps >= PROMPT / 8192 + GENERATED - 1, `${stats.steps} steps: the prompt was prefilled in chunks`);
  const layer = stats.attention.layers[0][1];
  assert.ok(layer.density < 0.1, `PLAS attended ${layer.selectedBlocks} of ${layer.candidateBlocks} blocks`);
  assert.equal(stats.kv.freePages, stats.kv.numPages, 'every page is back after the request');

  // Every block kept: the same prompt from the prefix cache, exact attention over 131K keys.
  engine.setPlasConfig({
    plas_encoder_top_k_left: 2048,
    plas_encoder_top_k_right: 2048,
    plas_decoder_top_k_left: 2048,
    plas_decoder_top_k_right: 2048,
  });
  const exact = await collect(engine.generate({ id: 'exact', promptTokenIds: ids, sampling: greedy(GENERATED) }));
  assert.ok(exact.done.usage.cachedPromptTokens >= PROMPT - 64, `${exact.done.usage.cachedPromptTokens} cached`);
  const all = exact.done.attention;
  assert.ok(all.blocksCandidate > 0 && all.blocksSelected === all.blocksCandidate, JSON.stringify(all));
  assert.deepEqual(engine.stats().attention.requests, [], 'a finished request leaves no statistics behind');
  await engine.close();
  assert.deepEqual(exact.ids, await cpuGreedy(ids, GENERATED));
});
