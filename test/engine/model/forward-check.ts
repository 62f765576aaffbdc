/**
 * The check behind forward-<architecture>.test.ts (one file per architecture, so the runner spreads them over cores).
 * For every fixture architecture and dtype: GPU logits for a 64-token prompt match the CPU oracle built from the
 * kernels' twins, and 32 greedy tokens are identical between GPU and CPU.
 *
 * Bound: |gpu - cpu| <= 1e-3 * max|cpu| over all logits. Both sides use the same (rounded) weights; the difference
 * is f32 accumulation order on the GPU against f64 sums in the twins, through every layer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSingle } from '../../../engine/generation/generate-single.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import { FLOAT_DTYPES } from '../../../engine/gpu/dtype.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { CpuKvCache, cpuForward } from '../../../engine/model/cpu-forward.ts';
import { recordForward } from '../../../engine/model/gpu-forward.ts';
import { ContiguousKvCache } from '../../../engine/model/kv-contiguous.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { groupTensors, type ModelTensors } from '../../../engine/model/model-tensors.ts';
import { readTensor } from '../../../engine/model/safetensors.ts';
import { type TinyArchitecture, writeTinyModel } from '../../fixtures/tiny-model.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';

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

async function gpuPrefillLogits(gpu: Gpu, model: LoadedModel, prompt: number[]): Promise<Float32Array> {
  const kv = new ContiguousKvCache(gpu, model.dims, prompt.length);
  try {
    const step = gpu.step('prefill test');
    const ids = gpu.upload('u32', [prompt.length], prompt, 'ids');
    const positions = gpu.upload(
      'u32',
      [prompt.length],
      prompt.map((_, i) => i),
      'positions',
    );
    const logits = recordForward(step, model.dims, model.tensors, kv, ids, positions, [prompt.length - 1])!;
    const bytes = step.read(logits);
    await step.submit();
    ids.buffer.destroy();
    positions.buffer.destroy();
    return new Float32Array((await bytes).slice(0, model.dims.vocab * 4).buffer);
  } finally {
    kv.destroy();
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
          const kv = new CpuKvCache(model.dims, PROMPT_TOKENS + GREEDY_TOKENS);
          const expected = cpuForward(model.dims, cpu, kv, prompt, 0);
          assertClose(
            await gpuPrefillLogits(gpu, model, prompt),
            expected,
            { rtol: 1e-3 },
            `${architecture} ${dtype} logits`,
          );

          const cpuTokens: number[] = [];
          let logits = expected;
          for (let i = 0; i < GREEDY_TOKENS; i++) {
            const id = argmax(logits);
            cpuTokens.push(id);
            if (i + 1 < GREEDY_TOKENS) logits = cpuForward(model.dims, cpu, kv, [id], kv.length);
          }
          const gpuTokens: number[] = [];
          const params = samplingParams({ temperature: 0, maxTokens: GREEDY_TOKENS, ignoreEos: true });
          for await (const event of generateSingle(gpu, model, prompt, params)) {
            if (event.type === 'token' && event.id >= 0) gpuTokens.push(event.id);
          }
          assert.deepEqual(gpuTokens, cpuTokens, `${architecture} ${dtype}: greedy tokens differ`);
          assert.ok(new Set(cpuTokens).size > 1, 'the fixture model should not repeat one token forever');
        } finally {
          model.dispose();
        }
      });
    }
  });
}
