/**
 * PLAS bookkeeping under a sliding window W, on the twins (no GPU): a query at position q has as candidates the
 * blocks that intersect [q - W + 1, q], exactly the blocks the selection twin (engine/reference/plas-select-topk.ts,
 * the twin of plas_select_topk.wgsl) can keep; a unit's candidates (plan.unitBlocks) bound its union list, so the
 * recorded density is <= 1 and equals 1 when every block is kept; the dense limits compare the span a query sees,
 * min(q + 1, W); recall's exact top-k looks at the window only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PagedBatch } from '../../../engine/gpu/kernels/paged-attention.ts';
import { type BatchSequence, packBatch } from '../../../engine/kv/paged-layout.ts';
import { type PlasConfig, parsePlasConfig } from '../../../engine/plas/config.ts';
import {
  buildPlasPlan,
  candidateBlocks,
  decodeSplits,
  firstCandidateBlock,
  type PlasPlan,
  UNIT_COLUMNS,
} from '../../../engine/plas/plan.ts';
import { recallRows, recordSample } from '../../../engine/plas/sample-stats.ts';
import { PlasStats } from '../../../engine/plas/stats.ts';
import { plasSelectTopk } from '../../../engine/reference/plas-select-topk.ts';
import { plasUnion } from '../../../engine/reference/plas-union.ts';

const HEADS = 4;
const KV_HEADS = 2;
const PAGE = 4;
/** PLAS block: the smallest the config allows, four pages. */
const B = 16;

/** Blocks intersecting [q - W + 1, q], counted one by one (the definition, not the formula). */
function bruteCandidates(q: number, blockSize: number, window: number): number[] {
  const lo = window ? Math.max(0, q - window + 1) : 0;
  const out: number[] = [];
  for (let b = 0; b * blockSize <= q; b++) if ((b + 1) * blockSize - 1 >= lo) out.push(b);
  return out;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A prefilling sequence and two decoding ones, one of them past the window, one inside it. */
function batch(): BatchSequence[] {
  const table = (n: number, base: number) => Array.from({ length: Math.ceil(n / PAGE) }, (_, i) => base + i);
  return [
    { queryOffset: 0, numQueries: 140, kvLength: 300, blockTable: table(300, 0) },
    { queryOffset: 140, numQueries: 1, kvLength: 265, blockTable: table(265, 100) },
    { queryOffset: 141, numQueries: 1, kvLength: 40, blockTable: table(40, 200) },
  ];
}

function config(o: Partial<Record<keyof PlasConfig, unknown>>): PlasConfig {
  return parsePlasConfig({ plas_block_size: B, denseLastLayer: false, ...o }, PAGE);
}

/** Random gate scores for every row, the twin's selection over the plan's score items, and the twin's union lists. */
function runTwins(
  seqs: BatchSequence[],
  c: PlasConfig,
  plan: PlasPlan,
  window: number,
  seed: number,
  tweak?: (scores: Float32Array) => void,
) {
  const totalTokens = seqs.reduce((n, s) => n + s.numQueries, 0);
  const rand = rng(seed);
  const scores = Float32Array.from({ length: totalTokens * HEADS * plan.maxBlocks }, () => rand() * 4 - 2);
  tweak?.(scores);
  const packed = packBatch(seqs).seqs;
  const selection = new Uint32Array(totalTokens * HEADS * plan.words);
  for (const g of plan.scoreGroups) {
    const part = plasSelectTopk(scores, packed, g.items, {
      heads: HEADS,
      blockSize: plan.blockSize,
      maxBlocks: plan.maxBlocks,
      words: plan.words,
      totalTokens,
      rowBase: 0,
      left: g.left,
      right: g.right,
      iterations: c.iterations,
      search: c.topkSearch,
      window,
    });
    for (let i = 0; i < part.length; i++) selection[i] |= part[i];
  }
  const lists = plasUnion(selection, packed, plan.units, {
    heads: HEADS,
    kvHeads: KV_HEADS,
    blockSize: plan.blockSize,
    words: plan.words,
  });
  return { scores, selection, lists, packed };
}

function unitPositions(seqs: BatchSequence[], plan: PlasPlan, u: number): [first: number, last: number] {
  const [seq, q0, count] = plan.units.subarray(u * UNIT_COLUMNS, u * UNIT_COLUMNS + 3);
  const start = seqs[seq].kvLength - seqs[seq].numQueries;
  return [start + q0, start + q0 + count - 1];
}

describe('PLAS plan under a sliding window', () => {
  it('candidates of a query are the blocks intersecting its window, as the selection twin sees them', () => {
    for (const blockSize of [16, 32, 64]) {
      for (const window of [0, 1, 5, 16, 31, 32, 33, 100, 128]) {
        for (let q = 0; q < 400; q++) {
          const want = bruteCandidates(q, blockSize, window);
          assert.equal(firstCandidateBlock(q, blockSize, window), want[0], `first, q ${q} B ${blockSize} W ${window}`);
          assert.equal(candidateBlocks(q, blockSize, window), want.length, `count, q ${q} B ${blockSize} W ${window}`);
        }
      }
    }
    // The twin keeping everything (right above any count) keeps exactly those blocks, row by row.
    const seqs = batch();
    const window = 75;
    const all = config({
      plas_encoder_top_k_left: 64,
      plas_encoder_top_k_right: 64,
      plas_decoder_top_k_left: 64,
      plas_decoder_top_k_right: 64,
      plas_use_encoder_seq_limit: 0,
      plas_use_decoder_seq_limit: 0,
    });
    const plan = buildPlasPlan(seqs, all, { pageSize: PAGE, heads: HEADS, kvHeads: KV_HEADS, window, unionTokens: 16 });
    const { selection } = runTwins(seqs, all, plan, window, 1);
    for (const s of seqs) {
      for (let t = 0; t < s.numQueries; t++) {
        const pos = s.kvLength - s.numQueries + t;
        const kept: number[] = [];
        const row = (s.queryOffset + t) * HEADS * plan.words;
        for (let b = 0; b < plan.maxBlocks; b++) if ((selection[row + (b >> 5)] >>> (b & 31)) & 1) kept.push(b);
        assert.deepEqual(kept, bruteCandidates(pos, B, window), `position ${pos}`);
      }
    }
  });

  it("a unit's candidates bound its union list (equal when every block is kept); density <= 1", async () => {
    const seqs = batch();
    const window = 122;
    const sparse = config({
      plas_encoder_top_k_left: 2,
      plas_encoder_top_k_right: 3,
      plas_decoder_top_k_left: 2,
      plas_decoder_top_k_right: 3,
      plas_use_encoder_seq_limit: 0,
      plas_use_decoder_seq_limit: 0,
    });
    const all = config({
      plas_encoder_top_k_left: 64,
      plas_encoder_top_k_right: 64,
      plas_decoder_top_k_left: 64,
      plas_decoder_top_k_right: 64,
      plas_use_encoder_seq_limit: 0,
      plas_use_decoder_seq_limit: 0,
    });
    const o = { pageSize: PAGE, heads: HEADS, kvHeads: KV_HEADS, window, unionTokens: 16 };
    for (const [name, c] of [
      ['sparse', sparse],
      ['all', all],
    ] as const) {
      const plan = buildPlasPlan(seqs, c, o);
      assert.ok(!plan.allDense, name);
      const { lists } = runTwins(seqs, c, plan, window, 2);
      let candidates = 0;
      let selected = 0;
      for (let u = 0; u < plan.units.length / UNIT_COLUMNS; u++) {
        const [first, last] = unitPositions(seqs, plan, u);
        // The union over the unit's queries of their windows' blocks.
        const union = new Set<number>();
        for (let q = first; q <= last; q++) for (const b of bruteCandidates(q, B, window)) union.add(b);
        assert.equal(plan.unitBlocks[u], union.size, `unit ${u} (${first}..${last}) candidates`);
        assert.equal(plan.unitListBlocks[u], Math.floor(last / B) + 1);
        for (let kvh = 0; kvh < KV_HEADS; kvh++) {
          const list = lists[u * KV_HEADS + kvh];
          assert.ok(
            list.every((b) => union.has(b)),
            `unit ${u}: list ${list} outside ${[...union]}`,
          );
          if (c === all) assert.equal(list.length, union.size, `unit ${u} keeps every candidate`);
          candidates += union.size;
          selected += list.length;
        }
      }
      // The statistics record exactly those counts (the twins' counts stand in for the GPU's readback).
      const stats = new PlasStats({ sampleEvery: 1 });
      const counts = Uint32Array.from(lists.map((l) => l.length));
      recordSample(stats, {
        layer: 0,
        batch: { host: seqs, pageSize: PAGE, window } as unknown as PagedBatch,
        plan,
        heads: HEADS,
        kvHeads: KV_HEADS,
        counts: Promise.resolve(new Uint8Array(counts.buffer)),
        chunks: [],
      });
      await stats.settled();
      const layer = stats.layer(0);
      assert.equal(layer.candidateBlocks, candidates, name);
      assert.equal(layer.selectedBlocks, selected, name);
      assert.ok(layer.density <= 1, `${name} density ${layer.density}`);
      if (c === all) assert.equal(layer.density, 1);
      else assert.ok(layer.density < 1, `sparse density ${layer.density}: the selection dropped some blocks`);
    }
  });

  it('the dense limits compare the span a query sees, min(q + 1, W); a dense unit counts its window only', async () => {
    const seqs = batch();
    const limits = { plas_use_encoder_seq_limit: 96, plas_use_decoder_seq_limit: 96 };
    const c = config({ ...limits, plas_decoder_top_k_left: 2, plas_decoder_top_k_right: 3 });
    const o = { pageSize: PAGE, heads: HEADS, kvHeads: KV_HEADS, unionTokens: 16 };
    const dense = (p: PlasPlan) => Array.from({ length: p.units.length / UNIT_COLUMNS }, (_, u) => p.units[u * 4 + 3]);
    // W = 80 < 96: no query ever sees 96 tokens, so every unit is dense although the sequences reach 300.
    const narrow = buildPlasPlan(seqs, c, { ...o, window: 80 });
    assert.ok(narrow.allDense && dense(narrow).every((d) => d === 1));
    // W = 128 >= 96: a unit is sparse once its last query sees 96 tokens; seq 2 (40 tokens) stays dense.
    const wide = buildPlasPlan(seqs, c, { ...o, window: 128 });
    const noWindow = buildPlasPlan(seqs, c, o);
    assert.deepEqual(dense(wide), dense(noWindow));
    assert.deepEqual(dense(wide), [...Array(10).fill(0), 1], 'seq 0: 9 units of 16 from position 160, then seqs 1, 2');

    // A dense unit's list (plas_union: 0 ..= own block) reaches before the window; only the window counts.
    const plan = buildPlasPlan(seqs, c, { ...o, window: 80 });
    const { lists } = runTwins(seqs, c, plan, 80, 3);
    const decodeUnit = plan.decodeUnits[0]; // seq 1: position 264, window 185 ..= 264 -> blocks 11 ..= 16
    assert.equal(lists[decodeUnit * KV_HEADS].length, 17);
    assert.equal(plan.unitBlocks[decodeUnit], 6);
    const stats = new PlasStats({ sampleEvery: 1 });
    recordSample(stats, {
      layer: 0,
      batch: { host: seqs, pageSize: PAGE, window: 80 } as unknown as PagedBatch,
      plan,
      heads: HEADS,
      kvHeads: KV_HEADS,
      counts: Promise.resolve(new Uint8Array(Uint32Array.from(lists.map((l) => l.length)).buffer)),
      chunks: [],
    });
    await stats.settled();
    assert.equal(stats.layer(0).density, 1, 'dense everywhere: density 1, not the list over the window');
    assert.equal(
      stats.layer(0).candidateBlocks,
      plan.unitBlocks.reduce((n, b) => n + KV_HEADS * b, 0),
    );
    // The decode split estimate still sizes a dense unit by its whole list, which the kernel cuts evenly.
    const splits = decodeSplits(plan, { tile: B, kvHeads: KV_HEADS, headBlocks: 1, right: 3, tilesPerSplit: 1 });
    assert.equal(splits.merges[2], 17, 'seq 1: 17 blocks of 16 keys, one tile a split');
  });

  it("recall's exact top-k ranks the window's blocks only", async () => {
    // One decoding query at 264 under W = 80: candidates are blocks 11 ..= 16. Blocks before the window score
    // highest; the refined search keeps at least `left` free blocks, so counted over the window recall is 1 (counted
    // over every block, as before, the best blocks would be "missed" ones the query never sees).
    const seqs: BatchSequence[] = [
      { queryOffset: 0, numQueries: 1, kvLength: 265, blockTable: Array.from({ length: 67 }, (_, i) => i) },
    ];
    const window = 80;
    const c = config({ plas_decoder_top_k_left: 2, plas_decoder_top_k_right: 2, plas_use_decoder_seq_limit: 0 });
    const plan = buildPlasPlan(seqs, c, { pageSize: PAGE, heads: HEADS, kvHeads: KV_HEADS, window });
    const plain = runTwins(seqs, c, plan, window, 4);
    const { scores, selection, lists } = runTwins(seqs, c, plan, window, 4, (s) => {
      for (let h = 0; h < HEADS; h++) for (let b = 0; b < 11; b++) s[h * plan.maxBlocks + b] = 10 + b;
    });
    assert.deepEqual(lists, plain.lists, 'selection ignores the blocks before the window');
    const g = plan.scoreGroups[0];
    const rows = recallRows(seqs, g, 0, 1, HEADS);
    assert.deepEqual(rows, [[0, 0, 264]]);
    const stats = new PlasStats({ sampleEvery: 1, recall: true });
    recordSample(stats, {
      layer: 0,
      batch: { host: seqs, pageSize: PAGE, window } as unknown as PagedBatch,
      plan,
      heads: HEADS,
      kvHeads: KV_HEADS,
      counts: Promise.resolve(new Uint8Array(Uint32Array.from(lists.map((l) => l.length)).buffer)),
      chunks: [
        {
          group: g,
          rows: [[0, 264]],
          scores: Promise.resolve(new Uint8Array(scores.slice(0, HEADS * plan.maxBlocks).buffer)),
          selection: Promise.resolve(new Uint8Array(selection.slice(0, HEADS * plan.words).buffer)),
        },
      ],
    });
    await stats.settled();
    const layer = stats.layer(0);
    assert.equal(layer.recallTotal, 2 * HEADS, 'k = left = 2 per head');
    assert.equal(layer.recall, 1);
    assert.ok(layer.density <= 1 && layer.candidateBlocks === KV_HEADS * 6, JSON.stringify(layer));
  });
});
