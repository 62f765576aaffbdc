/**
 * The check behind forward-<architecture>.test.ts (one file per architecture, so the runner spreads them over cores).
 * For every fixture architecture and weight dtype, on the engine's own forward path (gpu-forward.ts over the paged KV
 * pool, and the Engine itself): GPU logits for a 64-token prompt match the CPU oracle built from the kernels' twins,
 * with an f32 and with an f16 KV cache (the oracle rounds K and V to f16 as the pool does), and 32 greedy tokens from
 * the Engine with an f16 KV cache (the default) are identical to the CPU's; with f32 weights, the Engine's tokens with
 * an f32 KV cache too, and they equal the f16 cache's (f16 KV changes no greedy token of the fixtures).
 *
 * Bound: |gpu - cpu| <= 1e-3 * max|cpu| over all logits. Both sides use the same (rounded) weights and KV values; the
 * difference is f32 accumulation order on the GPU against f64 sums in the twins, through every layer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import { FLOAT_DTYPES } from '../../../engine/gpu/dtype.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { uploadPagedBatch } from '../../../engine/gpu/kernels/paged-attention.ts';
import { type KvDType, slotMapping } from '../../../engine/kv/paged-layout.ts';
import { CpuKvCache, cpuForward } from '../../../engine/model/cpu-forward.ts';
import { recordForward } from '../../../engine/model/gpu-forward.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { groupTensors, type ModelTensors } from '../../../engine/model/model-tensors.ts';
import { readTensor } from '../../../engine/model/safetensors.ts';
import { PagedAttentionBackend } from '../../../engine/runner/paged-backend.ts';
import { PagedKvPool } from '../../../engine/runner/paged-kv-pool.ts';
import { type TinyArchitecture, writeTinyModel } from '../../fixtures/tiny-model.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { runAlone } from '../serving/engine-fixture.ts';

const PROMPT_TOKENS = 64;
const GREEDY_TOKENS = 32;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-forward-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function cpuTensors(model: LoadedModel): Promise<ModelTensors<Float32Array>> {
  const values = new Map<string, Float32Array>();
  for (const name of model.expected.keys()) values.set(name, await readTensor(model.weights.tensors.get(name)!));
  return groupTensors((n) => values.get(n), model.config.numLayers, 'model', model.config.tieWordEmbeddings);
}

function promptIds(model: LoadedModel): number[] {
  const text =
    'The quick brown fox jumps over the lazy dog. Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. 日本語も少し。';
  let ids = model.tokenizer.encode(text);
  while (ids.length < PROMPT_TOKENS) ids = ids.concat(ids);
  return ids.slice(0, PROMPT_TOKENS);
}

const PAGE = 16;

/** The prompt's last logits from the engine's forward pass over a paged KV pool of `dtype` (pages in reverse order). */
async function gpuPrefillLogits(gpu: Gpu, model: LoadedModel, prompt: number[], dtype: KvDType): Promise<Float32Array> {
  const numPages = Math.ceil(prompt.length / PAGE);
  const pool = new PagedKvPool(gpu, model.dims, { numPages, pageSize: PAGE, dtype });
  try {
    const step = gpu.step('prefill test');
    const host = [
      {
        queryOffset: 0,
        numQueries: prompt.length,
        kvLength: prompt.length,
        blockTable: Array.from({ length: numPages }, (_, i) => numPages - 1 - i),
      },
    ];
    const batch = uploadPagedBatch(step, host, PAGE);
    const slots = step.scratch('u32', [prompt.length], 'slots');
    gpu.writeBytes(slots, new Uint8Array(slotMapping(host, PAGE).buffer));
    const ids = step.scratch('u32', [prompt.length], 'ids');
    gpu.writeBytes(ids, new Uint8Array(Uint32Array.from(prompt).buffer));
    const positions = step.scratch('u32', [prompt.length], 'positions');
    gpu.writeBytes(positions, new Uint8Array(Uint32Array.from(prompt, (_, i) => i).buffer));
    const backend = new PagedAttentionBackend(pool.layers, batch, slots);
    const logits = recordForward(step, model.dims, model.tensors, backend, ids, positions, [prompt.length - 1])!;
    const bytes = step.read(logits);
    await step.submit();
    return new Float32Array((await bytes).slice(0, model.dims.vocab * 4).buffer);
  } finally {
    pool.destroy();
  }
}

/** The prompt's last logits and `n` greedy tokens from the CPU oracle with a KV cache of `dtype`. */
function cpuGreedy(model: LoadedModel, cpu: ModelTensors<Float32Array>, prompt: number[], dtype: KvDType, n: number) {
  const kv = new CpuKvCache(model.dims, PROMPT_TOKENS + GREEDY_TOKENS, { dtype });
  const first = cpuForward(model.dims, cpu, kv, prompt, 0);
  const tokens: number[] = [];
  let logits = first;
  for (let i = 0; i < n; i++) {
    const id = argmax(logits);
    tokens.push(id);
    if (i + 1 < n) logits = cpuForward(model.dims, cpu, kv, [id], kv.length);
  }
  return { logits: first, tokens };
}

/** Greedy tokens from the Engine with a KV cache of `dtype`. */
async function engineGreedy(gpu: Gpu, model: LoadedModel, prompt: number[], dtype: KvDType): Promise<number[]> {
  const engine = await Engine.create(gpu, model, {
    cache: { pageSize: PAGE, memoryBytes: 8 * 2 ** 20, dtype },
    attention: { allowPlas: false },
    scheduler: { maxNumSeqs: 1 },
  });
  try {
    return await runAlone(
      engine,
      prompt,
      samplingParams({ temperature: 0, maxTokens: GREEDY_TOKENS, ignoreEos: true }),
    );
  } finally {
    await engine.close();
  }
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export function describeForwardChecks(architecture: TinyArchitecture): void {
  describe(`${architecture}: GPU forward matches the CPU oracle`, () => {
    for (const dtype of FLOAT_DTYPES) {
      it(`${architecture} ${dtype}`, async () => {
        const gpu = await testGpu();
        const dir = join(root, `${architecture}-${dtype}`);
        // Sharded for bf16, so the forward runs on weights gathered from several files too.
        await writeTinyModel(dir, { architecture, dtype, seed: 11, shards: dtype === 'bf16' ? 3 : 1 });
        const model = await loadModel(gpu, dir);
        try {
          const cpu = await cpuTensors(model);
          const prompt = promptIds(model);
          const byKv = new Map<KvDType, number[]>();
          for (const kvDtype of ['f16', 'f32'] as const) {
            const what = `${architecture} ${dtype} weights, ${kvDtype} KV`;
            // Greedy tokens: f16 KV (the default) always, f32 KV on f32 weights (the comparison of the two caches).
            const tokens = kvDtype === 'f16' || dtype === 'f32' ? GREEDY_TOKENS : 0;
            const expected = cpuGreedy(model, cpu, prompt, kvDtype, tokens);
            assertClose(
              await gpuPrefillLogits(gpu, model, prompt, kvDtype),
              expected.logits,
              { rtol: 1e-3 },
              `${what}: logits`,
            );
            if (tokens === 0) continue;
            const gpuTokens = await engineGreedy(gpu, model, prompt, kvDtype);
            assert.deepEqual(gpuTokens, expected.tokens, `${what}: greedy tokens differ from the CPU's`);
            assert.ok(new Set(gpuTokens).size > 1, 'the fixture model should not repeat one token forever');
            byKv.set(kvDtype, gpuTokens);
          }
          if (dtype === 'f32') {
            assert.deepEqual(byKv.get('f16'), byKv.get('f32'), `${architecture}: f16 KV changes greedy tokens`);
          }
        } finally {
          model.dispose();
        }
      });
    }
  });
}
