/**
 * PLAS attention end to end (engine/plas/plas-attention.ts) on mixed batches: every stage of a layer checked against
 * its twin on the GPU's own inputs (key sums, scores, selection, union), the block-sparse output against the sparse
 * twin, and the dense fallbacks against plain paged attention: below the limits, with left = right >= the number of
 * blocks, and on the last layer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeValues, roundToDType } from '../../../engine/gpu/dtype.ts';
import { KernelArgumentError } from '../../../engine/gpu/errors.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import { plasAttentionDecode, plasAttentionPrefill } from '../../../engine/gpu/kernels/plas-attention.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import { type PlasConfig, parsePlasConfig } from '../../../engine/plas/config.ts';
import { keySumItems } from '../../../engine/plas/plan.ts';
import { type PlasBatch, type PlasDebugReads, plasAttention } from '../../../engine/plas/plas-attention.ts';
import { PlasStats } from '../../../engine/plas/stats.ts';
import { pagedAttention as denseRef } from '../../../engine/reference/paged-attention.ts';
import { plasSparseAttention } from '../../../engine/reference/plas-attention.ts';
import { plasBlockScores as scoresRef } from '../../../engine/reference/plas-block-scores.ts';
import { plasKeyBounds as keyBoundsRef, plasKeySums as keySumsRef } from '../../../engine/reference/plas-key-sums.ts';
import { plasSelectTopk as selectRef } from '../../../engine/reference/plas-select-topk.ts';
import { plasUnion as unionRef } from '../../../engine/reference/plas-union.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';
import { destroy, type PagedFixture, pagedBatch, randomPool, type SeqSpec } from '../plas/paged-fixture.ts';

/** Attention tolerance as for the paged kernels: D-long dots, exp2 and sums over up to ~1500 keys against f64. */
const TOL = { rtol: 2e-5, atol: 2e-6 };

interface Case {
  D: number;
  heads: number;
  kvHeads: number;
  pageSize: number;
  specs: SeqSpec[];
  config: object;
  gate?: boolean;
  /** A key-bound gate [kvHeads, 4, D] for the layer (read only by the 'bound-gate' block score). */
  boundGate?: boolean;
  isLastLayer?: boolean;
  /** Pool dtype (default f32): an f16 pool holds the values rounded to f16, which the twins are given. */
  dtype?: KvDType;
  /** Sliding window (default 0: none). */
  window?: number;
}

interface Run {
  f: PagedFixture;
  config: PlasConfig;
  q: Float32Array;
  kPool: Float32Array;
  vPool: Float32Array;
  /** Key sums before the step (the prefix's) and after (read back); the same for the key bounds. */
  sumsBefore: Float32Array;
  sumsAfter: Float32Array;
  boundsBefore: Float32Array;
  boundsAfter: Float32Array;
  gate?: Float32Array;
  boundGate?: Float32Array;
  out: Float32Array;
  debug: PlasDebugReads;
}

async function run(gpu: Gpu, rng: Rng, c: Case, stats?: PlasStats): Promise<Run> {
  const f = pagedBatch(rng, c.specs, c.pageSize);
  const config = parsePlasConfig(c.config, c.pageSize);
  const blockSize = config.plas_block_size;
  const shape = { pageSize: c.pageSize, kvHeads: c.kvHeads, D: c.D, blockSize };
  const dtype = c.dtype ?? 'f32';
  const kPool = roundToDType(randomPool(rng, f, c.kvHeads, c.D), dtype);
  const vPool = roundToDType(randomPool(rng, f, c.kvHeads, c.D), dtype);
  const q = rng.normals(f.totalTokens * c.heads * c.D, 2);
  const gate = c.gate ? rng.normals(c.kvHeads * blockSize * c.D, 1 / 16) : undefined;
  // Quest's weights (1, 0, 0, 1) per channel, perturbed.
  const boundGate = c.boundGate
    ? rng.normals(c.kvHeads * 4 * c.D, 0.3).map((x, i) => x + ([1, 0, 0, 1][Math.floor(i / c.D) % 4] ?? 0))
    : undefined;
  // The cache's earlier tokens already have their sums; pages the step starts hold NaN until it writes them.
  const prefix = f.sequences.map((s) => ({
    ...s,
    kvLength: s.kvLength - s.numQueries,
    numQueries: s.kvLength - s.numQueries,
  }));
  const sumsBefore = keySumsRef(
    kPool,
    new Float32Array(f.numPages * c.kvHeads * c.D).fill(Number.NaN),
    keySumItems(prefix, c.pageSize, blockSize),
    shape,
    gate,
  );
  const boundsBefore = keyBoundsRef(
    kPool,
    new Float32Array(f.numPages * c.kvHeads * 2 * c.D).fill(Number.NaN),
    keySumItems(prefix, c.pageSize, blockSize),
    shape,
  );
  const t = {
    q: gpu.upload('f32', [f.totalTokens, c.heads, c.D], q, 'q'),
    k: gpu.upload(dtype, [f.numPages, c.pageSize, c.kvHeads, c.D], kPool, 'k'),
    v: gpu.upload(dtype, [f.numPages, c.pageSize, c.kvHeads, c.D], vPool, 'v'),
    keySums: gpu.upload('f32', [f.numPages, c.kvHeads, c.D], sumsBefore, 'key sums'),
    keyBounds: gpu.upload('f32', [f.numPages, c.kvHeads, 2 * c.D], boundsBefore, 'key bounds'),
    out: gpu.createTensor('f32', [f.totalTokens, c.heads, c.D], 'out'),
    seqs: gpu.upload('u32', [f.sequences.length, 4], f.seqs, 'seqs'),
    blockTables: gpu.upload('u32', [f.blockTables.length], f.blockTables, 'tables'),
    ...(gate ? { gate: gpu.upload('f32', [c.kvHeads, blockSize, c.D], gate, 'gate') } : {}),
    ...(boundGate ? { boundGate: gpu.upload('f32', [c.kvHeads, 4, c.D], boundGate, 'bound gate') } : {}),
  };
  const batch: PlasBatch = {
    host: f.sequences,
    seqs: t.seqs,
    blockTables: t.blockTables,
    pageSize: c.pageSize,
    requestIds: f.sequences.map((_, i) => `r${i}`),
    window: c.window ?? 0,
  };
  let debug: PlasDebugReads | undefined;
  const step = gpu.step('plas attention');
  plasAttention(step, {
    q: t.q,
    layer: { k: t.k, v: t.v, keySums: t.keySums, keyBounds: t.keyBounds },
    batch,
    out: t.out,
    config,
    isLastLayer: c.isLastLayer ?? false,
    gate: t.gate,
    boundGate: t.boundGate,
    stats,
    debug: (d) => {
      debug = d;
    },
  });
  await step.submit();
  const out = await gpu.read(t.out);
  const sumsAfter = await gpu.read(t.keySums);
  const boundsAfter = await gpu.read(t.keyBounds);
  destroy(...Object.values(t));
  return {
    ...{ f, config, q, kPool, vPool, sumsBefore, sumsAfter, boundsBefore, boundsAfter },
    ...{ gate, boundGate, out, debug: debug! },
  };
}

const u32 = async (p: Promise<Uint8Array>) => new Uint32Array((await p).slice().buffer);

/** The lists the GPU built, as the twin's lists-of-ids. */
async function gpuLists(r: Run): Promise<number[][]> {
  const counts = await u32(r.debug.counts);
  const lists = await u32(r.debug.lists);
  const maxBlocks = r.debug.plan.maxBlocks;
  return Array.from(counts, (n, i) => Array.from(lists.subarray(i * maxBlocks, i * maxBlocks + n)));
}

function dense(r: Run, c: Case): Float32Array {
  const shape = { heads: c.heads, kvHeads: c.kvHeads, D: c.D, pageSize: c.pageSize, window: c.window ?? 0 };
  return denseRef(r.q, r.kPool, r.vPool, r.f.sequences, shape);
}

/** Decode (one long, one of one token), a prefill chunk starting mid-block over two union tiles, a whole short prompt. */
const MIXED: SeqSpec[] = [
  { kvLength: 1500, numQueries: 1 },
  { kvLength: 1, numQueries: 1 },
  { kvLength: 901, numQueries: 150 },
  { kvLength: 45, numQueries: 45 },
  { kvLength: 640, numQueries: 1 }, // a multiple of the block: its own block must still be kept
];

describe('plasAttention: every stage matches its twin on a sparse mixed batch', () => {
  const scores: [string, Partial<PlasConfig>][] = [
    ['gate scores (mean pooling)', {}],
    ['key-bound scores in decode, the gate in prefill', { decoderBlockScore: 'bound' }],
    ['key-bound scores in prefill, the gate in decode', { encoderBlockScore: 'bound' }],
    [
      'the learned gate on key bounds in decode, plain key bounds in prefill',
      {
        decoderBlockScore: 'bound-gate',
        encoderBlockScore: 'bound',
      },
    ],
  ];
  for (const [name, blockScores] of scores)
    it(`D=64, GQA 4, page 16, block 32; chunked prefill mid-block, decode, one-token and dense sequences; ${name}`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(2024);
      const c: Case = {
        D: 64,
        heads: 8,
        kvHeads: 2,
        pageSize: 16,
        specs: MIXED,
        boundGate: true, // present in every case: only 'bound-gate' rows may read it
        config: {
          plas_block_size: 32,
          plas_encoder_top_k_left: 4,
          plas_encoder_top_k_right: 6,
          plas_decoder_top_k_left: 6,
          plas_decoder_top_k_right: 9,
          plas_use_encoder_seq_limit: 200,
          plas_use_decoder_seq_limit: 600,
          ...blockScores,
        },
      };
      const stats = new PlasStats({ sampleEvery: 1, recall: true });
      const r = await run(gpu, rng, c, stats);
      const { plan } = r.debug;
      const blockSize = 32;
      const shape = { pageSize: c.pageSize, kvHeads: c.kvHeads, D: c.D, blockSize };

      // 1. Key sums: the prefix's plus this step's tokens.
      const sums = keySumsRef(r.kPool, r.sumsBefore.slice(), keySumItems(r.f.sequences, c.pageSize, blockSize), shape);
      // Pages no sequence holds keep their NaN on both sides; compare them as 0 (a NaN anywhere else still fails).
      const noNaN = (x: Float32Array) => x.map((v, i) => (Number.isNaN(v) && Number.isNaN(sums[i]) ? 0 : v));
      assertClose(noNaN(r.sumsAfter), noNaN(sums), { rtol: 1e-6, atol: 1e-5 }, 'key sums');
      const bounds = keyBoundsRef(
        r.kPool,
        r.boundsBefore.slice(),
        keySumItems(r.f.sequences, c.pageSize, blockSize),
        shape,
      );
      assert.deepEqual(r.boundsAfter, bounds, 'key bounds (NaN where no sequence holds the page, on both sides)');

      // 2. Scores on the GPU's key sums, and the selection on the GPU's scores (bit for bit).
      const selection = await u32(r.debug.selection!);
      assert.ok(r.debug.scores.length === plan.scoreGroups.length, 'one score chunk per side here');
      for (const ch of r.debug.scores) {
        const scores = decodeValues(await ch.bytes, 'f32');
        const common = { heads: c.heads, blockSize, maxBlocks: plan.maxBlocks, rowBase: ch.rowBase };
        const { score } = ch.group;
        const bound = score !== 'gate';
        assert.equal(score, r.config[`${ch.group.side}BlockScore`]);
        const want = scoresRef(r.q, bound ? r.boundsAfter : r.sumsAfter, r.f.seqs, r.f.blockTables, ch.group.items, {
          ...common,
          kvHeads: c.kvHeads,
          D: c.D,
          pageSize: c.pageSize,
          scoreRows: ch.rows,
          summary: bound ? score : 'mean',
          ...(score === 'bound-gate' ? { boundGate: r.boundGate } : {}),
        });
        // Rows of the chunk's span that are not in its items (other sequences) hold whatever was there: skip them.
        const rowSize = c.heads * plan.maxBlocks;
        const covered = (x: Float32Array) => x.filter((_, i) => !Number.isNaN(want[i]));
        assert.equal(want.length, ch.rows * rowSize);
        assertClose(covered(scores), covered(want), { rtol: 2e-6, atol: 1e-4 }, `scores (${ch.group.side})`);
        const sel = selectRef(scores, r.f.seqs, ch.group.items, {
          ...common,
          left: ch.group.left,
          right: ch.group.right,
          iterations: r.config.iterations,
          words: plan.words,
          totalTokens: r.f.totalTokens,
        });
        for (let i = 0; i < ch.group.items.length; i += 4) {
          const row0 = r.f.sequences[ch.group.items[i]].queryOffset + ch.group.items[i + 1];
          const span = [row0 * c.heads * plan.words, (row0 + ch.group.items[i + 2]) * c.heads * plan.words];
          assert.deepEqual(
            selection.subarray(span[0], span[1]),
            sel.subarray(span[0], span[1]),
            `selection rows ${row0}`,
          );
        }
      }

      // 3. Union lists from the GPU's selection; dense units list everything.
      const lists = await gpuLists(r);
      assert.deepEqual(lists, unionRef(selection, r.f.seqs, plan.units, { ...c, blockSize, words: plan.words }));
      const denseUnits = [...Array(plan.units.length / 4).keys()].filter((u) => plan.units[u * 4 + 3] === 1);
      assert.ok(denseUnits.length >= 2 && denseUnits.length < plan.units.length / 4, 'both dense and sparse units');
      const sparseLists = lists.filter((_, i) => plan.units[Math.floor(i / c.kvHeads) * 4 + 3] === 0);
      assert.ok(
        sparseLists.some((l, i) => l.length < plan.unitBlocks[i]),
        'some sparse list skips blocks',
      );

      // 4. The block-sparse output over those lists.
      const want = plasSparseAttention(r.q, r.kPool, r.vPool, r.f.sequences, plan.units, lists, {
        ...c,
        blockSize,
      });
      assertClose(r.out, want, TOL, 'sparse attention');

      // Statistics of the sampled step: density from the same counts, recall in (0, 1].
      await stats.settled();
      const layer = stats.layer(0);
      const candidates = lists.reduce((n, _, i) => n + plan.unitBlocks[Math.floor(i / c.kvHeads)], 0);
      const selected = lists.reduce((n, l) => n + l.length, 0);
      assert.equal(layer.candidateBlocks, candidates);
      assert.equal(layer.selectedBlocks, selected);
      const decodeLists = lists.filter((_, i) => plan.decodeUnits.includes(Math.floor(i / c.kvHeads)));
      const decodeCandidates = plan.decodeUnits.reduce((n, u) => n + c.kvHeads * plan.unitBlocks[u], 0);
      assert.ok(plan.decodeUnits.length > 0 && decodeCandidates < candidates, 'both decode and prefill units');
      assert.equal(layer.decodeCandidateBlocks, decodeCandidates);
      assert.equal(
        layer.decodeSelectedBlocks,
        decodeLists.reduce((n, l) => n + l.length, 0),
      );
      assert.ok(layer.density < 1 && layer.density > 0, `density ${layer.density}`);
      assert.ok(layer.recall !== null && layer.recall > 0 && layer.recall <= 1, `recall ${layer.recall}`);
      assert.equal(stats.request('r1').density, 1, 'the one-token sequence is dense');
    });
});

describe('plasAttention over f16 pools and a sliding window', () => {
  const SPARSE = {
    plas_block_size: 32,
    plas_encoder_top_k_left: 4,
    plas_encoder_top_k_right: 6,
    plas_decoder_top_k_left: 6,
    plas_decoder_top_k_right: 9,
    plas_use_encoder_seq_limit: 200,
    plas_use_decoder_seq_limit: 600,
  };

  it('sparse: key sums of the f16 keys, no block before a window selected, the output of the listed blocks (W 200)', async () => {
    const gpu = await testGpu();
    const c: Case = {
      D: 64,
      heads: 8,
      kvHeads: 2,
      pageSize: 16,
      specs: MIXED,
      config: SPARSE,
      dtype: 'f16',
      window: 200,
    };
    const r = await run(gpu, new Rng(77), c);
    const blockSize = 32;
    const shape = { pageSize: c.pageSize, kvHeads: c.kvHeads, D: c.D, blockSize };
    const sums = keySumsRef(r.kPool, r.sumsBefore.slice(), keySumItems(r.f.sequences, c.pageSize, blockSize), shape);
    const noNaN = (x: Float32Array) => x.map((v, i) => (Number.isNaN(v) && Number.isNaN(sums[i]) ? 0 : v));
    assertClose(noNaN(r.sumsAfter), noNaN(sums), { rtol: 1e-6, atol: 1e-5 }, 'key sums of f16 keys');
    const lists = await gpuLists(r);
    const { plan } = r.debug;
    // No sparse unit lists a block wholly before the window of its first query (the selection's candidates start at
    // the window), and some unit's window starts past block 0 (so the test sees it).
    let windowed = 0;
    lists.forEach((l, i) => {
      const unit = Math.floor(i / c.kvHeads);
      const [seq, firstQuery, , dense] = plan.units.subarray(unit * 4, unit * 4 + 4);
      const s = r.f.sequences[seq];
      const firstPos = s.kvLength - s.numQueries + firstQuery;
      const firstBlock = Math.floor(Math.max(0, firstPos + 1 - 200) / blockSize);
      if (firstBlock > 0 && !dense) windowed++;
      if (!dense)
        assert.ok(
          l.every((b) => b >= firstBlock),
          `unit ${unit} lists [${l}], its window starts at block ${firstBlock}`,
        );
    });
    assert.ok(windowed > 0, 'some sparse unit has blocks before its window');
    const want = plasSparseAttention(r.q, r.kPool, r.vPool, r.f.sequences, plan.units, lists, {
      ...c,
      blockSize,
      window: 200,
    });
    assertClose(r.out, want, TOL, 'sparse attention with a window');
  });

  it('selecting every block equals dense paged attention with the window (f16, windows 1, 45, 333)', async () => {
    const gpu = await testGpu();
    for (const window of [1, 45, 333]) {
      const c: Case = {
        D: 64,
        heads: 8,
        kvHeads: 2,
        pageSize: 16,
        specs: MIXED,
        config: { ...SPARSE, plas_use_encoder_seq_limit: 0, plas_use_decoder_seq_limit: 0, ...everything(47) },
        dtype: 'f16',
        window,
      };
      const r = await run(gpu, new Rng(78 + window), c);
      assert.ok(r.debug.selection !== null, 'the selection ran');
      assertClose(r.out, dense(r, c), TOL, `window ${window}`);
    }
  });

  it('a dense last layer lists blocks before the window: the kernels skip and mask them (W 100)', async () => {
    const gpu = await testGpu();
    const c: Case = {
      D: 64,
      heads: 8,
      kvHeads: 2,
      pageSize: 16,
      specs: MIXED,
      config: SPARSE,
      isLastLayer: true,
      dtype: 'f16',
      window: 100,
    };
    const r = await run(gpu, new Rng(79), c);
    const lists = await gpuLists(r);
    assert.ok(
      lists.some((l) => l.includes(0) && l.length > 4),
      'a long unit lists block 0, wholly before its window',
    );
    assertClose(r.out, dense(r, c), TOL, 'dense last layer with a window');
  });
});

/** A config whose top-k keeps every block of sequences up to `blocks` blocks. */
function everything(blocks: number) {
  return {
    plas_encoder_top_k_left: blocks,
    plas_encoder_top_k_right: blocks,
    plas_decoder_top_k_left: blocks,
    plas_decoder_top_k_right: blocks,
  };
}

describe('plasAttention falls back to exactly dense attention', () => {
  it('below the sequence limits (D=128, GQA 7, page 32, block 64, learned gate)', async () => {
    const gpu = await testGpu();
    const c: Case = {
      D: 128,
      heads: 7,
      kvHeads: 1,
      pageSize: 32,
      specs: [
        { kvLength: 1100, numQueries: 1 },
        { kvLength: 333, numQueries: 70 },
        { kvLength: 1, numQueries: 1 },
      ],
      config: {
        plas_block_size: 64,
        plas_encoder_top_k_left: 2,
        plas_encoder_top_k_right: 3,
        plas_decoder_top_k_left: 2,
        plas_decoder_top_k_right: 3,
        plas_use_encoder_seq_limit: 334,
        plas_use_decoder_seq_limit: 1101,
      },
      gate: true,
    };
    const r = await run(gpu, new Rng(8), c);
    assert.equal(r.debug.selection, null, 'no selection ran');
    assertClose(r.out, dense(r, c), TOL, 'below the limits');
  });

  it('with left = right >= every candidate count (D=80, GQA 1, page 32, block 128)', async () => {
    const gpu = await testGpu();
    const c: Case = {
      D: 80,
      heads: 4,
      kvHeads: 4,
      pageSize: 32,
      specs: [
        { kvLength: 1300, numQueries: 1 },
        { kvLength: 600, numQueries: 90 },
      ],
      config: {
        plas_encoder_top_k_left: 11,
        plas_encoder_top_k_right: 11,
        plas_decoder_top_k_left: 11,
        plas_decoder_top_k_right: 11,
        plas_use_encoder_seq_limit: 0,
        plas_use_decoder_seq_limit: 0,
      },
    };
    const r = await run(gpu, new Rng(9), c);
    assert.ok(r.debug.selection !== null, 'the selection ran');
    assertClose(r.out, dense(r, c), TOL, 'left = right = blocks');
  });

  it('on the last layer when denseLastLayer, and rejects a layer without key sums', async () => {
    const gpu = await testGpu();
    const c: Case = {
      D: 64,
      heads: 8,
      kvHeads: 2,
      pageSize: 16,
      specs: MIXED,
      config: {
        plas_block_size: 32,
        plas_encoder_top_k_left: 1,
        plas_encoder_top_k_right: 2,
        plas_decoder_top_k_left: 1,
        plas_decoder_top_k_right: 2,
        plas_use_encoder_seq_limit: 0,
        plas_use_decoder_seq_limit: 0,
      },
      isLastLayer: true,
    };
    const r = await run(gpu, new Rng(10), c);
    assertClose(r.out, dense(r, c), TOL, 'last layer');

    const q = gpu.createTensor('f32', [1, 8, 64], 'q');
    const k = gpu.createTensor('f32', [4, 16, 2, 64], 'k');
    const batch = {
      host: [{ queryOffset: 0, numQueries: 1, kvLength: 5, blockTable: [0] }],
      seqs: q,
      blockTables: q,
      pageSize: 16,
    };
    assert.throws(
      () =>
        plasAttention(gpu.step('bad'), { q, layer: { k, v: k }, batch, out: q, config: r.config, isLastLayer: false }),
      /plas_attention: layer.keySums is missing \(expected f32\[4, 2, 64\]\)/,
    );
    const sparse = {
      q,
      layer: { k, v: k },
      seqs: gpu.createTensor('u32', [1, 4], 's'),
      blockTables: gpu.createTensor('u32', [1], 't'),
      units: gpu.createTensor('u32', [1, 4], 'u'),
      items: gpu.createTensor('u32', [1, 4], 'i'),
      lists: gpu.createTensor('u32', [1, 2, 8], 'l'),
      counts: gpu.createTensor('u32', [1, 2], 'c'),
      out: gpu.createTensor('f32', [1, 8, 64], 'o'),
      blockSize: 32,
    };
    const rejects = (f: () => void, message: RegExp) =>
      assert.throws(f, (e: Error) => e instanceof KernelArgumentError && message.test(e.message), String(message));
    rejects(
      () => plasAttentionPrefill(gpu.step('bad'), { ...sparse, lists: gpu.createTensor('u32', [2, 2, 8], 'l') }),
      /^plas_attention_prefill: lists must be u32\[1, 2, maxBlocks\], got u32\[2, 2, 8\]$/,
    );
    rejects(
      () => plasAttentionPrefill(gpu.step('bad'), { ...sparse, blockSize: 24 }),
      /plas_attention_prefill: blockSize \(24\) and page size \(16\) must be powers of two/,
    );
    rejects(
      () => plasAttentionDecode(gpu.step('bad'), { ...sparse, merges: gpu.createTensor('f32', [1, 4], 'm') }),
      /^plas_attention_decode: merges must be u32\[M, 4\], got f32\[1, 4\]$/,
    );
    rejects(
      () => plasAttentionDecode(gpu.step('bad'), { ...sparse, merges: sparse.items, out: q }),
      /plas_attention_decode: out and q share a buffer/,
    );
  });
});
