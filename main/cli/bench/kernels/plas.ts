/**
 * PLAS kernels at a 32K context, Llama-3-8B attention shape (heads 32:8, D 128), block 128 over pages of 64: decode
 * (one sequence, one new token) and a 512-token prefill chunk ending at 32K. Selection inputs come from the kernels
 * before them (scores of random keys, their selection), so each kernel sees realistic data; the decode block-sparse
 * attention visits the lists the union built (about right + 3 blocks per kv head group out of 256).
 */
import type { Gpu } from '../../../../engine/gpu/gpu.ts';
import { planPlasDecode, plasAttentionDecode } from '../../../../engine/gpu/kernels/plas-attention.ts';
import { plasBlockScores } from '../../../../engine/gpu/kernels/plas-block-scores.ts';
import { plasKeySums } from '../../../../engine/gpu/kernels/plas-key-sums.ts';
import { plasSelectTopk } from '../../../../engine/gpu/kernels/plas-select-topk.ts';
import { plasUnion } from '../../../../engine/gpu/kernels/plas-union.ts';
import type { Step } from '../../../../engine/gpu/step.ts';
import type { Tensor } from '../../../../engine/gpu/tensor.ts';
import { type BatchSequence, packBatch } from '../../../../engine/kv/paged-layout.ts';
import { parsePlasConfig } from '../../../../engine/plas/config.ts';
import { buildPlasPlan, decodeSplits, type PlasPlan } from '../../../../engine/plas/plan.ts';
import { plasSparseAttention } from '../../../../engine/reference/plas-attention.ts';
import { plasBlockScores as scoresRef } from '../../../../engine/reference/plas-block-scores.ts';
import { plasKeySums as keySumsRef } from '../../../../engine/reference/plas-key-sums.ts';
import { plasSelectTopk as selectRef } from '../../../../engine/reference/plas-select-topk.ts';
import { plasUnion as unionRef } from '../../../../engine/reference/plas-union.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

const CONTEXT = 32768;
const PAGE = 64;
const BLOCK = 128;
const { heads: HEADS, kvHeads: KV_HEADS, headDim: D } = MODEL_SHAPES['Llama-3-8B'];
const PAGES = CONTEXT / PAGE;
const MAX_BLOCKS = CONTEXT / BLOCK;
const WORDS = MAX_BLOCKS / 32;

type Phase = 'decode' | 'prefill';

/** One sequence at 32K whose last `T` tokens are new; its pages in order (the layout does not change the work). */
function batchOf(T: number) {
  const host: BatchSequence[] = [
    { queryOffset: 0, numQueries: T, kvLength: CONTEXT, blockTable: [...Array(PAGES).keys()] },
  ];
  const config = parsePlasConfig({ plas_use_encoder_seq_limit: 0, plas_use_decoder_seq_limit: 0 }, PAGE);
  const plan = buildPlasPlan(host, config, { pageSize: PAGE, heads: HEADS, kvHeads: KV_HEADS });
  return { host, config, plan, ...packBatch(host) };
}

interface Inputs {
  T: number;
  host: BatchSequence[];
  plan: PlasPlan;
  seqs: Uint32Array;
  blockTables: Uint32Array;
  q: Float32Array;
  keySums: Float32Array;
  t: Record<string, Tensor>;
}

/** The tensors every case needs: q, key sums, tables, work lists, and the selection buffers. */
function inputs(gpu: Gpu, phase: Phase): Inputs {
  const T = phase === 'decode' ? 1 : 512;
  const b = batchOf(T);
  const g = b.plan.scoreGroups[0];
  const q = benchValues(T * HEADS * D, 1);
  const keySums = benchValues(PAGES * KV_HEADS * D, 2, PAGE);
  const U = b.plan.units.length / 4;
  const t = {
    q: gpu.upload('f32', [T, HEADS, D], q, 'q'),
    keySums: gpu.upload('f32', [PAGES, KV_HEADS, D], keySums, 'key sums'),
    seqs: gpu.upload('u32', [1, 4], b.seqs, 'seqs'),
    blockTables: gpu.upload('u32', [PAGES], b.blockTables, 'block tables'),
    items: gpu.upload('u32', [g.items.length / 4, 4], g.items, 'score items'),
    units: gpu.upload('u32', [U, 4], b.plan.units, 'units'),
    scores: gpu.createTensor('f32', [T, HEADS, MAX_BLOCKS], 'scores'),
    selection: gpu.createTensor('u32', [T, HEADS, WORDS], 'selection'),
    lists: gpu.createTensor('u32', [U, KV_HEADS, MAX_BLOCKS], 'lists'),
    counts: gpu.createTensor('u32', [U, KV_HEADS], 'counts'),
  };
  return { T, ...b, q, keySums, t };
}

function scoresCall(i: Inputs) {
  const { q, keySums, seqs, blockTables, items, scores } = i.t;
  return (step: Step) =>
    plasBlockScores(step, {
      q,
      keySums,
      seqs,
      blockTables,
      items,
      scores,
      pageSize: PAGE,
      blockSize: BLOCK,
    });
}

function selectCall(i: Inputs) {
  const g = i.plan.scoreGroups[0];
  return (step: Step) =>
    plasSelectTopk(step, {
      scores: i.t.scores,
      seqs: i.t.seqs,
      items: i.t.items,
      selection: i.t.selection,
      blockSize: BLOCK,
      left: g.left,
      right: g.right,
      iterations: 6,
      maxItemTokens: g.maxItemTokens,
    });
}

function unionCall(i: Inputs) {
  const { selection, seqs, units, lists, counts } = i.t;
  return (step: Step) => plasUnion(step, { selection, seqs, units, lists, counts, blockSize: BLOCK });
}

interface TwinInputs {
  scores: Float32Array;
  selection: Uint32Array;
  lists: number[][];
}

/**
 * Run the kernels before the measured one once (queued ahead of the timed calls), so its inputs are what a forward
 * pass would give it, and read them back for its twin. The readback settles while the GPU calls are timed; should the
 * twin run first, it gets the same inputs from the twins instead.
 */
function primedInputs(gpu: Gpu, i: Inputs, calls: ((step: Step) => void)[]): () => TwinInputs {
  let got: TwinInputs | null = null;
  const step = gpu.step('plas bench prime');
  for (const call of calls) call(step);
  const reads = [step.read(i.t.scores), step.read(i.t.selection), step.read(i.t.counts), step.read(i.t.lists)];
  for (const r of reads) r.catch(() => {});
  step
    .submit()
    .then(() => Promise.all(reads))
    .then(([scores, selection, counts, lists]) => {
      const c = new Uint32Array(counts.slice().buffer);
      const l = new Uint32Array(lists.slice().buffer);
      got = {
        scores: new Float32Array(scores.slice().buffer),
        selection: new Uint32Array(selection.slice().buffer),
        lists: Array.from(c, (n, j) => Array.from(l.subarray(j * MAX_BLOCKS, j * MAX_BLOCKS + n))),
      };
    })
    .catch(() => {});
  return () => got ?? cpuInputs(i);
}

function cpuInputs(i: Inputs): TwinInputs {
  const g = i.plan.scoreGroups[0];
  const scores = scoresRef(i.q, i.keySums, i.seqs, i.blockTables, g.items, scoresShape(i));
  const shape = { heads: HEADS, blockSize: BLOCK, maxBlocks: MAX_BLOCKS, words: WORDS, totalTokens: i.T, rowBase: 0 };
  const selection = selectRef(scores, i.seqs, g.items, { ...shape, ...g, iterations: 6 });
  const lists = unionRef(selection, i.seqs, i.plan.units, {
    heads: HEADS,
    kvHeads: KV_HEADS,
    blockSize: BLOCK,
    words: WORDS,
  });
  return { scores, selection, lists };
}

function dispose(i: Inputs): void {
  for (const t of Object.values(i.t)) t.buffer.destroy();
}

function scoresShape(i: Inputs) {
  return {
    heads: HEADS,
    kvHeads: KV_HEADS,
    D,
    pageSize: PAGE,
    blockSize: BLOCK,
    maxBlocks: MAX_BLOCKS,
    scoreRows: i.T,
    rowBase: 0,
    summary: 'mean' as const,
  };
}

function variant(phase: Phase): string {
  return `f32 ${HEADS}:${KV_HEADS}x${D} ctx=${CONTEXT} block ${BLOCK} page ${PAGE} T=${phase === 'decode' ? 1 : 512}`;
}

function keySumsCase(phase: Phase): KernelBenchCase {
  const T = phase === 'decode' ? 1 : 512;
  return {
    kernel: 'plas_key_sums',
    variant: variant(phase),
    phase,
    bytes: T * KV_HEADS * D * 4 + 2 * Math.ceil(T / PAGE + 1) * KV_HEADS * D * 4,
    flops: T * KV_HEADS * D,
    setup(gpu) {
      const b = batchOf(T);
      const k = benchValues(PAGES * PAGE * KV_HEADS * D, 3);
      const sums = benchValues(PAGES * KV_HEADS * D, 4);
      const t = {
        k: gpu.upload('f32', [PAGES, PAGE, KV_HEADS, D], k, 'k'),
        keySums: gpu.upload('f32', [PAGES, KV_HEADS, D], sums, 'key sums'),
        items: gpu.upload('u32', [b.plan.keySumItems.length / 4, 4], b.plan.keySumItems, 'items'),
      };
      const shape = { pageSize: PAGE, kvHeads: KV_HEADS, D, blockSize: BLOCK };
      return {
        record: (step) => plasKeySums(step, { ...t, blockSize: BLOCK }),
        twin: () => keySumsRef(k, sums.slice(), b.plan.keySumItems, shape),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

function scoresCase(phase: Phase): KernelBenchCase {
  const T = phase === 'decode' ? 1 : 512;
  return {
    kernel: 'plas_block_scores',
    variant: variant(phase),
    phase,
    bytes: PAGES * KV_HEADS * D * 4 + T * HEADS * (D + MAX_BLOCKS) * 4,
    flops: 2 * T * HEADS * MAX_BLOCKS * D,
    setup(gpu) {
      const i = inputs(gpu, phase);
      const g = i.plan.scoreGroups[0];
      return {
        record: scoresCall(i),
        twin: () => scoresRef(i.q, i.keySums, i.seqs, i.blockTables, g.items, scoresShape(i)),
        dispose: () => dispose(i),
      };
    },
  };
}

/**
 * The same scores from per-page key bounds [pages, kvHeads, 2D], weighted by a key-bound gate [kvHeads, 4, D] (block
 * score 'bound-gate'): a dot product over 2D, so about twice the mean-pooled case's reads and flops.
 */
function boundScoresCase(phase: Phase): KernelBenchCase {
  const T = phase === 'decode' ? 1 : 512;
  return {
    kernel: 'plas_block_scores',
    variant: `${variant(phase)} learned gate on key bounds`,
    phase,
    bytes: PAGES * KV_HEADS * 2 * D * 4 + T * HEADS * (D + MAX_BLOCKS) * 4,
    flops: 4 * T * HEADS * MAX_BLOCKS * D,
    setup(gpu) {
      const i = inputs(gpu, phase);
      const g = i.plan.scoreGroups[0];
      // Extremes per page: max >= min, as real ones are.
      const a = benchValues(PAGES * KV_HEADS * D, 7, PAGE);
      const b = benchValues(PAGES * KV_HEADS * D, 8, PAGE);
      const bounds = new Float32Array(PAGES * KV_HEADS * 2 * D);
      for (let r = 0; r < PAGES * KV_HEADS; r++) {
        for (let d = 0; d < D; d++) {
          const [x, y] = [a[r * D + d], b[r * D + d]];
          bounds[r * 2 * D + d] = Math.max(x, y);
          bounds[r * 2 * D + D + d] = Math.min(x, y);
        }
      }
      const gate = benchValues(KV_HEADS * 4 * D, 9).map((x, j) => x / 4 + (Math.floor(j / D) % 3 === 0 ? 1 : 0));
      const t = {
        keyBounds: gpu.upload('f32', [PAGES, KV_HEADS, 2 * D], bounds, 'key bounds'),
        boundGate: gpu.upload('f32', [KV_HEADS, 4, D], gate, 'bound gate'),
      };
      const { q, seqs, blockTables, items, scores } = i.t;
      return {
        record: (step) =>
          plasBlockScores(step, {
            ...{ q, seqs, blockTables, items, scores, keySums: t.keyBounds, boundGate: t.boundGate },
            ...{ pageSize: PAGE, blockSize: BLOCK, summary: 'bound-gate' },
          }),
        twin: () =>
          scoresRef(i.q, bounds, i.seqs, i.blockTables, g.items, {
            ...scoresShape(i),
            summary: 'bound-gate',
            boundGate: gate,
          }),
        dispose: () => {
          dispose(i);
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

/** Select and union read what the kernels before them wrote; their twins run on those readbacks. */
function laterCase(kernel: 'plas_select_topk' | 'plas_union', phase: Phase): KernelBenchCase {
  const T = phase === 'decode' ? 1 : 512;
  const selectBytes = T * HEADS * MAX_BLOCKS * 4 + T * HEADS * WORDS * 4;
  const units = phase === 'decode' ? 1 : T / 128;
  return {
    kernel,
    variant: variant(phase),
    phase,
    bytes: kernel === 'plas_select_topk' ? selectBytes : T * HEADS * WORDS * 4 + units * KV_HEADS * MAX_BLOCKS * 4,
    flops: 0,
    setup(gpu) {
      const i = inputs(gpu, phase);
      const g = i.plan.scoreGroups[0];
      const shape = { heads: HEADS, blockSize: BLOCK, maxBlocks: MAX_BLOCKS, words: WORDS, totalTokens: T, rowBase: 0 };
      const select = (s: Float32Array) => selectRef(s, i.seqs, g.items, { ...shape, ...g, iterations: 6 });
      const twinInputs = primedInputs(gpu, i, [scoresCall(i), selectCall(i)]);
      return {
        record: kernel === 'plas_select_topk' ? selectCall(i) : unionCall(i),
        twin: () => {
          const { scores, selection } = twinInputs();
          if (kernel === 'plas_select_topk') select(scores);
          else
            unionRef(selection, i.seqs, i.plan.units, {
              heads: HEADS,
              kvHeads: KV_HEADS,
              blockSize: BLOCK,
              words: WORDS,
            });
        },
        dispose: () => dispose(i),
      };
    },
  };
}

/** Decode block-sparse attention (split-K + merge) over the union's lists, K/V of the whole 32K context in the pool. */
function decodeAttentionCase(): KernelBenchCase {
  const visited = 2 * 123 * BLOCK; // estimate for GB/s: about twice right + 3 blocks per kv head group
  return {
    kernel: 'plas_attention_decode',
    variant: `${variant('decode')} (about 2 x 123 of 256 blocks)`,
    phase: 'decode',
    bytes: 2 * visited * KV_HEADS * D * 4,
    flops: 4 * visited * D * HEADS,
    setup(gpu) {
      const i = inputs(gpu, 'decode');
      const k = benchValues(PAGES * PAGE * KV_HEADS * D, 5);
      const v = benchValues(PAGES * PAGE * KV_HEADS * D, 6);
      const dp = planPlasDecode(HEADS, KV_HEADS, D, gpu.limits.maxComputeWorkgroupStorageSize);
      const splits = decodeSplits(i.plan, { tile: dp.tile, kvHeads: KV_HEADS, headBlocks: dp.headBlocks, right: 120 });
      const t = {
        k: gpu.upload('f32', [PAGES, PAGE, KV_HEADS, D], k, 'k'),
        v: gpu.upload('f32', [PAGES, PAGE, KV_HEADS, D], v, 'v'),
        out: gpu.createTensor('f32', [1, HEADS, D], 'out'),
        items: gpu.upload('u32', [splits.items.length / 4, 4], splits.items, 'decode items'),
        merges: gpu.upload('u32', [splits.merges.length / 4, 4], splits.merges, 'merges'),
      };
      const twinInputs = primedInputs(gpu, i, [scoresCall(i), selectCall(i), unionCall(i)]);
      return {
        record: (step) =>
          plasAttentionDecode(step, {
            q: i.t.q,
            layer: { k: t.k, v: t.v },
            seqs: i.t.seqs,
            blockTables: i.t.blockTables,
            units: i.t.units,
            lists: i.t.lists,
            counts: i.t.counts,
            out: t.out,
            blockSize: BLOCK,
            items: t.items,
            merges: t.merges,
          }),
        twin: () => {
          const { lists } = twinInputs();
          plasSparseAttention(i.q, k, v, i.host, i.plan.units, lists, {
            heads: HEADS,
            kvHeads: KV_HEADS,
            D,
            pageSize: PAGE,
            blockSize: BLOCK,
          });
        },
        dispose: () => {
          dispose(i);
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

export const plasCases: KernelBenchCase[] = [
  keySumsCase('decode'),
  keySumsCase('prefill'),
  scoresCase('decode'),
  scoresCase('prefill'),
  boundScoresCase('decode'),
  boundScoresCase('prefill'),
  laterCase('plas_select_topk', 'decode'),
  laterCase('plas_select_topk', 'prefill'),
  laterCase('plas_union', 'decode'),
  laterCase('plas_union', 'prefill'),
  decodeAttentionCase(),
];
