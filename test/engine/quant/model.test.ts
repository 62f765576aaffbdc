/**
 * Whole models with quantized weights (every 2-D weight quantized in memory with quantize(), the GPU running the
 * quantized kernels for the projections, the LM head and the embedding), against the same model in f32:
 * - teacher-forced over 256 positions (the f32 model's greedy continuation; for the tied model, whose greedy output
 *   repeats one token, a fixed token sequence): the max |logit error| relative to the largest |logit|, and
 *   the top-1 agreement (the quantized model's argmax equals the f32 greedy token) over the 256 positions;
 * - a weight split across buffers (an artificially low binding limit) gives exactly the tokens and logits of the
 *   whole weight.
 *
 * Measured on SwiftShader (llama untied, seed 5: all weights one type; qwen2 tied, seed 6: the Q4_K_M mix), as
 * max |logit error| / max |f32 logit| (max |logit| 5.29) and top-1 agreement over 256 positions:
 *   q8_0 0.021 / 97.3%, q6_k 0.063 / 87.5%, q5_k 0.143 / 73.8%, q4_k 0.235 / 55.1%, q4_0 0.313 / 48.4%;
 *   Q4_K_M mix (q4_k, q6_k for embedding/LM head, v_proj, down_proj) 0.147 / 92.2%.
 * A random model's logits are nearly flat (top-2 margins of 0.01 against logits of +-5), so top-1 flips far more
 * often than on a trained model; the bounds below are these figures with margin, and they order as the types'
 * weight errors do (blocks.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { uploadPagedBatch } from '../../../engine/gpu/kernels/paged-attention.ts';
import type { Tensor } from '../../../engine/gpu/tensor.ts';
import { slotMapping } from '../../../engine/kv/paged-layout.ts';
import { CpuKvCache, cpuForward } from '../../../engine/model/cpu-forward.ts';
import { recordForward } from '../../../engine/model/gpu-forward.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { groupTensors, layerTensorNames } from '../../../engine/model/model-tensors.ts';
import type { UploadOptions } from '../../../engine/model/upload-weights.ts';
import { dequantize } from '../../../engine/quant/dequantize.ts';
import { isQuantType, QUANT_TYPES, type QuantType } from '../../../engine/quant/types.ts';
import { PagedAttentionBackend } from '../../../engine/runner/paged-backend.ts';
import { PagedKvPool } from '../../../engine/runner/paged-kv-pool.ts';
import type { TinyArchitecture } from '../../fixtures/tiny-model.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { greedy, runAlone } from '../serving/engine-fixture.ts';
import { loadQuantFixture, QUANT_MODEL_BOUNDS, QUANT_VOCAB, quantizeAll, writeQuantFixture } from './quant-fixture.ts';

const PAGE = 16;
const POSITIONS = 256;
const PROMPT = [17, 300, 1021, 5, 77, 1999, 640, 12];

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-quant-model-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function engineGreedy(gpu: Gpu, model: LoadedModel, prompt: number[], tokens: number): Promise<number[]> {
  const engine = await Engine.create(gpu, model, {
    cache: { pageSize: PAGE, memoryBytes: 8 * 2 ** 20 },
    attention: { allowPlas: false },
    scheduler: { maxNumSeqs: 1 },
  });
  try {
    return await runAlone(engine, prompt, greedy(tokens));
  } finally {
    await engine.close();
  }
}

/** Logits [rows.length, V] of one prefill over `ids` (the engine's forward over a paged pool). */
async function prefillLogits(gpu: Gpu, model: LoadedModel, ids: number[], rows: number[]): Promise<Float32Array> {
  const numPages = Math.ceil(ids.length / PAGE);
  const pool = new PagedKvPool(gpu, model.dims, { numPages, pageSize: PAGE, dtype: 'f32' });
  try {
    const step = gpu.step('quant prefill');
    const host = [
      {
        queryOffset: 0,
        numQueries: ids.length,
        kvLength: ids.length,
        blockTable: Array.from({ length: numPages }, (_, i) => i),
      },
    ];
    const batch = uploadPagedBatch(step, host, PAGE);
    const slots = step.scratch('u32', [ids.length], 'slots');
    gpu.writeBytes(slots, new Uint8Array(slotMapping(host, PAGE).buffer));
    const tIds = step.scratch('u32', [ids.length], 'ids');
    gpu.writeBytes(tIds, new Uint8Array(Uint32Array.from(ids).buffer));
    const positions = step.scratch('u32', [ids.length], 'positions');
    gpu.writeBytes(positions, new Uint8Array(Uint32Array.from(ids, (_, i) => i).buffer));
    const backend = new PagedAttentionBackend(pool.layers, batch, slots);
    const logits = recordForward(step, model.dims, model.tensors, backend, tIds, positions, rows)!;
    const bytes = step.read(logits);
    await step.submit();
    return new Float32Array((await bytes).slice(0, rows.length * model.dims.vocab * 4).buffer);
  } finally {
    pool.destroy();
  }
}

function argmaxRow(values: Float32Array, row: number, width: number): number {
  let best = 0;
  for (let i = 1; i < width; i++) if (values[row * width + i] > values[row * width + best]) best = i;
  return best;
}

interface Reference {
  sequence: number[];
  rows: number[];
  logits: Float32Array;
}

/**
 * The f32 model's logits at 256 positions of a teacher-forced sequence: its own greedy continuation of PROMPT (a
 * prefill over it must predict each next token), or, for a model whose greedy output is one repeated token (a random
 * tied model predicts its input), a fixed pseudo-random token sequence.
 */
async function f32Reference(gpu: Gpu, dir: string, source: 'greedy' | 'random'): Promise<Reference> {
  const model = await loadQuantFixture(gpu, dir);
  try {
    const rows = Array.from({ length: POSITIONS }, (_, i) => PROMPT.length - 1 + i);
    if (source === 'random') {
      const sequence = [...PROMPT, ...Array.from({ length: POSITIONS - 1 }, (_, i) => (i * 7919 + 13) % QUANT_VOCAB)];
      return { sequence, rows, logits: await prefillLogits(gpu, model, sequence, rows) };
    }
    const generated = await engineGreedy(gpu, model, PROMPT, POSITIONS);
    assert.ok(new Set(generated).size > 8, 'the f32 fixture should not repeat a few tokens forever');
    // Position PROMPT.length - 1 + i predicts generated token i.
    const sequence = [...PROMPT, ...generated.slice(0, -1)];
    const logits = await prefillLogits(gpu, model, sequence, rows);
    for (let i = 0; i < POSITIONS; i++) {
      assert.equal(argmaxRow(logits, i, QUANT_VOCAB), generated[i], `f32 prefill and decode disagree at ${i}`);
    }
    return { sequence, rows, logits };
  } finally {
    model.dispose();
  }
}

function compare(ref: Reference, logits: Float32Array): { relError: number; top1: number; maxRef: number } {
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < logits.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref.logits[i]));
    maxErr = Math.max(maxErr, Math.abs(logits[i] - ref.logits[i]));
  }
  let agree = 0;
  for (let i = 0; i < POSITIONS; i++) {
    if (argmaxRow(logits, i, QUANT_VOCAB) === argmaxRow(ref.logits, i, QUANT_VOCAB)) agree++;
  }
  return { relError: maxErr / maxRef, top1: agree / POSITIONS, maxRef };
}

/** The gap between a row's largest and second largest logit. */
function topMargin(values: Float32Array, row: number, width: number): number {
  const sorted = Array.from(values.subarray(row * width, (row + 1) * width)).sort((a, b) => b - a);
  return sorted[0] - sorted[1];
}

interface Variant {
  name: string;
  quantize: UploadOptions['quantize'];
  bound: { relError: number; top1: number };
  /** A tensor and the type it must have on the GPU. */
  expect: (model: LoadedModel) => [Tensor, QuantType][];
}

function describeQuantModel(
  architecture: TinyArchitecture,
  seed: number,
  source: 'greedy' | 'random',
  variants: Variant[],
): void {
  describe(`${architecture} (${architecture === 'qwen2' ? 'tied' : 'untied'}) quantized vs f32`, () => {
    let dir: string;
    let ref: Reference;
    before(async () => {
      dir = join(root, architecture);
      await writeQuantFixture(dir, architecture, seed);
      ref = await f32Reference(await testGpu(), dir, source);
    });

    for (const { name: type, quantize, bound, expect } of variants) {
      it(`${type}: logits and top-1 over ${POSITIONS} positions within bounds`, async () => {
        const gpu = await testGpu();
        const model = await loadQuantFixture(gpu, dir, { quantize });
        try {
          for (const [t, dtype] of expect(model)) assert.equal(t.dtype, dtype, `${t.label} is ${t.dtype}`);
          const got = compare(ref, await prefillLogits(gpu, model, ref.sequence, ref.rows));
          // The decode path (matvec) of the quantized model, through the Engine: greedy tokens as its own prefill.
          const decoded = await engineGreedy(gpu, model, PROMPT, 16);
          const own = await prefillLogits(
            gpu,
            model,
            [...PROMPT, ...decoded.slice(0, -1)],
            [...Array.from({ length: 16 }, (_, i) => PROMPT.length - 1 + i)],
          );
          for (const [i, id] of decoded.entries()) {
            assert.equal(id, argmaxRow(own, i, QUANT_VOCAB), `${type}: decode step ${i} differs from its prefill`);
          }
          // For a greedy reference, how many of the quantized model's first 16 greedy tokens equal the f32 model's.
          const same = decoded.findIndex((id, i) => id !== ref.sequence[PROMPT.length + i]);
          const margin = topMargin(ref.logits, 0, QUANT_VOCAB);
          console.log(
            `${architecture} ${type}: max |logit error| / max |logit| = ${got.relError.toFixed(4)}, top-1 agreement ` +
              `${(got.top1 * 100).toFixed(1)}% of ${POSITIONS}` +
              (source === 'greedy'
                ? `; greedy tokens equal to f32 for ${same < 0 ? 16 : same} of 16 (f32 top-2 margin at the first ` +
                  `${margin.toFixed(3)}, max |logit| ${got.maxRef.toFixed(2)})`
                : ''),
          );
          assert.ok(
            got.relError <= bound.relError,
            `${type}: relative logit error ${got.relError} > ${bound.relError}`,
          );
          assert.ok(got.relError > 1e-4, `${type}: logits equal to f32's; the weights were not quantized`);
          assert.ok(got.top1 >= bound.top1, `${type}: top-1 agreement ${got.top1} < ${bound.top1}`);
        } finally {
          model.dispose();
        }
      });
    }
  });
}

describeQuantModel(
  'llama',
  5,
  'greedy',
  QUANT_TYPES.map((type) => ({
    name: type,
    quantize: quantizeAll(type),
    bound: QUANT_MODEL_BOUNDS[type],
    expect: (m) => [
      [m.tensors.embed, type],
      [m.tensors.lmHead, type],
      [m.tensors.layers[1].down, type],
    ],
  })),
);

/** As llama.cpp's Q4_K_M: q4_k, with q6_k for the output (here tied: the embedding too), attn_v and ffn_down. */
const Q4_K_M: UploadOptions['quantize'] = (entry) => {
  if (entry.shape.length !== 2) return undefined;
  return /embed_tokens|lm_head|v_proj|down_proj/.test(entry.name) ? 'q6_k' : 'q4_k';
};

describeQuantModel('qwen2', 6, 'random', [
  {
    name: 'Q4_K_M mix (q4_k + q6_k)',
    quantize: Q4_K_M,
    bound: { relError: 0.2, top1: 0.85 },
    expect: (m) => [
      [m.tensors.lmHead, 'q6_k'],
      [m.tensors.layers[0].q, 'q4_k'],
      [m.tensors.layers[0].down, 'q6_k'],
    ],
  },
]);

describe('a quantized model on the GPU matches the CPU oracle on its dequantized weights', () => {
  it('qwen2 (tied) as Q4_K_M: the prompt logits within 1e-3 of the largest', async () => {
    const gpu = await testGpu();
    const dir = join(root, 'oracle');
    await writeQuantFixture(dir, 'qwen2', 8);
    const model = await loadQuantFixture(gpu, dir, { quantize: Q4_K_M });
    try {
      // The CPU's weights are the GPU's bytes read back and dequantized by the twin: this checks the upload, the
      // dispatch on each weight's type (tied LM head included) and the kernels, free of quantization error.
      const values = new Map<string, Float32Array>();
      for (const name of model.expected.keys()) {
        const t = findTensor(model, name);
        if (isQuantType(t.dtype)) {
          const [rows, cols] = t.shape;
          values.set(name, dequantize(t.dtype, await gpu.readBytes(t), rows, cols));
        } else values.set(name, await gpu.read(t));
      }
      const cpu = groupTensors((n) => values.get(n), model.config.numLayers, 'model', true);
      const prompt = Array.from({ length: 40 }, (_, i) => (i * 131 + 7) % QUANT_VOCAB);
      const expected = cpuForward(model.dims, cpu, new CpuKvCache(model.dims, prompt.length), prompt, 0);
      const got = await prefillLogits(gpu, model, prompt, [prompt.length - 1]);
      assertClose(got, expected, { rtol: 1e-3 }, 'Q4_K_M qwen2 logits');
    } finally {
      model.dispose();
    }
  });
});

/** The GPU tensor of a weight name, found through the model's roles. */
function findTensor(model: LoadedModel, name: string): Tensor {
  const w = model.tensors;
  if (name === 'model.embed_tokens.weight') return w.embed;
  if (name === 'model.norm.weight') return w.norm;
  if (name === 'lm_head.weight') return w.lmHead;
  const layer = Number(/layers\.(\d+)\./.exec(name)?.[1]);
  const names = layerTensorNames('model', layer);
  const role = (Object.keys(names) as (keyof typeof names)[]).find((r) => names[r] === name);
  const t = role ? w.layers[layer][role] : undefined;
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
}

describe('weights split across buffers', () => {
  it('a binding limit that splits the embedding and LM head gives the same tokens and logits', async () => {
    const gpu = await testGpu();
    const dir = join(root, 'split');
    await writeQuantFixture(dir, 'llama', 7);
    // 2048 x 256 f32 = 2 MiB: 600 KB parts hold 576 rows, so 4 parts (576, 576, 576, 320) for embed and lm_head;
    // the 512 KB projections stay whole.
    for (const quantize of [undefined, quantizeAll('q8_0')]) {
      const whole = await loadQuantFixture(gpu, dir, quantize ? { quantize } : {});
      // q8_0 rows are 272 bytes: 300 KB parts hold 1088 rows, 2 parts.
      const maxBindingBytes = quantize ? 300_000 : 600_000;
      const split = await loadQuantFixture(gpu, dir, { maxBindingBytes, ...(quantize ? { quantize } : {}) });
      try {
        const parts = split.tensors.embed.parts;
        if (!quantize) {
          assert.deepEqual(
            parts?.map((p) => [p.rowStart, p.tensor.shape[0]]),
            [
              [0, 576],
              [576, 576],
              [1152, 576],
              [1728, 320],
            ],
          );
          assert.equal(split.tensors.lmHead.parts?.length, 4);
          assert.equal(split.tensors.layers[0].gate.parts, undefined);
        } else
          assert.deepEqual(
            parts?.map((p) => [p.rowStart, p.tensor.shape[0], p.tensor.dtype]),
            [
              [0, 1088, 'q8_0'],
              [1088, 960, 'q8_0'],
            ],
          );
        assert.equal(split.weightBytes >= whole.weightBytes, true);
        const a = await engineGreedy(gpu, whole, PROMPT, 24);
        const b = await engineGreedy(gpu, split, PROMPT, 24);
        assert.deepEqual(b, a, `${quantize ? 'q8_0' : 'f32'}: split weights change the greedy tokens`);
        // Several logit rows: the split LM head's parts are copied into their columns row by row.
        const ids = [...PROMPT, ...a];
        const rows = [3, 10, 20, 31];
        assert.deepEqual(await prefillLogits(gpu, split, ids, rows), await prefillLogits(gpu, whole, ids, rows));
      } finally {
        whole.dispose();
        split.dispose();
      }
    }
  });

  it('a row too large for the limit is a clear error', async () => {
    const gpu = await testGpu();
    const dir = join(root, 'split');
    await assert.rejects(
      loadQuantFixture(gpu, dir, { maxBindingBytes: 10_000 }),
      /64 rows of 1024 bytes do not fit this adapter's 10000-byte binding limit/,
    );
  });
});
