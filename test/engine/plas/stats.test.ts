import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Step } from '../../../engine/gpu/step.ts';
import { parsePlasConfig } from '../../../engine/plas/config.ts';
import { buildPlasPlan, decodeSplits, keySumItems, UNIT_COLUMNS } from '../../../engine/plas/plan.ts';
import { PlasStats } from '../../../engine/plas/stats.ts';

describe('PlasStats', () => {
  it('samples one step in N, the same decision for every layer of a step', () => {
    const stats = new PlasStats({ sampleEvery: 3 });
    const steps = Array.from({ length: 7 }, () => ({}) as Step);
    const decisions = steps.map((s) => [stats.samples(s), stats.samples(s)]);
    assert.deepEqual(
      decisions.map(([a]) => a),
      [true, false, false, true, false, false, true],
    );
    assert.ok(decisions.every(([a, b]) => a === b));
    assert.throws(() => new PlasStats({ sampleEvery: 0 }), /sampleEvery \(0\) must be a positive integer/);
  });

  it('sums blocks and recall per layer and per request', () => {
    const stats = new PlasStats();
    stats.recordBlocks(0, 'a', 100, 25);
    stats.recordBlocks(1, 'a', 100, 50);
    stats.recordBlocks(0, 'b', 10, 10, true);
    stats.recordRecall(0, 'a', 9, 10);
    assert.deepEqual(
      { ...stats.layer(0) },
      {
        candidateBlocks: 110,
        selectedBlocks: 35,
        lists: 2,
        decodeCandidateBlocks: 10,
        decodeSelectedBlocks: 10,
        recallHits: 9,
        recallTotal: 10,
        density: 35 / 110,
        prefillDensity: 0.25,
        decodeDensity: 1,
        recall: 0.9,
      },
    );
    assert.equal(stats.layer(1).decodeDensity, null, 'no decode step was recorded on layer 1');
    assert.equal(stats.request('b').prefillDensity, null);
    assert.equal(stats.request('a').density, 0.375);
    assert.equal(stats.request('b').recall, null);
    assert.deepEqual([...stats.layers().keys()], [0, 1]);
    assert.equal(stats.takeRequest('a').density, 0.375, 'taking a request gives its summary');
    assert.equal(stats.request('a').candidateBlocks, 0, 'and forgets it');
    assert.deepEqual([...stats.requests().keys()], ['b']);
  });
});

describe('PLAS plan', () => {
  const seqs = [
    { queryOffset: 0, numQueries: 1, kvLength: 5000, blockTable: Array.from({ length: 79 }, (_, i) => i) },
    { queryOffset: 1, numQueries: 300, kvLength: 700, blockTable: Array.from({ length: 11 }, (_, i) => 100 + i) },
    { queryOffset: 301, numQueries: 1, kvLength: 1, blockTable: [200] },
  ];
  const config = parsePlasConfig(
    { plas_block_size: 128, plas_use_encoder_seq_limit: 500, plas_use_decoder_seq_limit: 2000 },
    64,
  );

  it('cuts prefill into union tiles, applies the limits per unit, and lists the pages each step touches', () => {
    const plan = buildPlasPlan(seqs, config, { pageSize: 64, heads: 8, kvHeads: 2, prefillRows: 32, unionTokens: 128 });
    // seq 1: tokens at 400..699 -> tiles of 128, 128, 44; the first sees 528 tokens (sparse: >= 500).
    assert.deepEqual(Array.from(plan.units), [0, 0, 1, 0, 1, 0, 128, 0, 1, 128, 128, 0, 1, 256, 44, 0, 2, 0, 1, 1]);
    assert.deepEqual(plan.unitBlocks, [40, 5, 6, 6, 1]);
    assert.deepEqual(plan.decodeUnits, [0, 4]);
    assert.equal(plan.prefillItems.length / 4, 16 + 16 + 6);
    assert.equal(plan.maxBlocks, 40);
    assert.equal(plan.words, 2);
    assert.deepEqual(
      plan.scoreGroups.map((g) => [g.side, g.items.length / 4]),
      [
        ['encoder', 19],
        ['decoder', 1],
      ],
    );
    // seq 1 writes 400..699: pages 6 (slots 16..63), 7..9, 10 (slots 0..59); page 6 starts block 0 at offset 384 % 128.
    const items = keySumItems(seqs, 64, 128);
    assert.deepEqual(Array.from(items.subarray(4, 8)), [106, 16, 48, 0]);
    assert.deepEqual(Array.from(items.subarray(20, 24)), [110, 0, 60, 0]);
    assert.deepEqual(
      Array.from(items.subarray(0, 4)),
      [78, 7, 1, 0],
      'position 4999: page 78 starts at 4992 = 39 x 128',
    );
    const all = buildPlasPlan(seqs, config, { pageSize: 64, heads: 8, kvHeads: 2, allDense: true });
    assert.ok(all.allDense && all.scoreGroups.length === 0);
  });

  it('scores each side with its block score, and a request with its own score in a group of its own', () => {
    const bound = { ...config, decoderBlockScore: 'bound' as const };
    const plan = buildPlasPlan(seqs, bound, { pageSize: 64, heads: 8, kvHeads: 2, prefillRows: 32, unionTokens: 128 });
    assert.deepEqual(
      plan.scoreGroups.map((g) => [g.side, g.score, g.items.length / 4]),
      [
        ['encoder', 'gate', 19],
        ['decoder', 'bound', 1],
      ],
    );
    // Sequence 0 (decoding) runs its request's own config: key bounds in prefill too, which it does not use.
    const own = buildPlasPlan(seqs, config, {
      pageSize: 64,
      heads: 8,
      kvHeads: 2,
      prefillRows: 32,
      unionTokens: 128,
      seqConfigs: [bound, { ...config, encoderBlockScore: 'bound' }, config],
    });
    assert.deepEqual(
      own.scoreGroups.map((g) => [g.side, g.score, g.items.length / 4]),
      [
        ['encoder', 'bound', 19],
        ['decoder', 'bound', 1],
      ],
    );
  });

  it('unions, by default, the queries of one prefill attention tile', () => {
    // 32 folded rows / a GQA group of 4 = 8 tokens a unit: seq 1's 300 tokens -> 37 units of 8 and one of 4, each
    // one prefill item; the first unit's last query sees 408 tokens (dense: < 500), unit 12 (tokens 496..503) is
    // the first sparse one.
    const plan = buildPlasPlan(seqs, config, { pageSize: 64, heads: 8, kvHeads: 2, prefillRows: 32 });
    const prefillUnits = Array.from({ length: plan.units.length / UNIT_COLUMNS }, (_, u) =>
      plan.units.subarray(u * UNIT_COLUMNS, (u + 1) * UNIT_COLUMNS),
    )
      .filter((u) => u[0] === 1)
      .map((u) => Array.from(u));
    assert.equal(prefillUnits.length, 38);
    assert.deepEqual(prefillUnits[0], [1, 0, 8, 1]);
    assert.deepEqual(prefillUnits[11], [1, 88, 8, 1]);
    assert.deepEqual(prefillUnits[12], [1, 96, 8, 0]);
    assert.deepEqual(prefillUnits[37], [1, 296, 4, 0]);
    assert.equal(plan.prefillItems.length / 4, 38);
    assert.deepEqual(Array.from(plan.prefillItems.subarray(4, 8)), [2, 0, 0, 0], 'unit 2 (after decode unit 0), row 0');
  });

  it('splits decode units by their expected lists', () => {
    const plan = buildPlasPlan(seqs, config, { pageSize: 64, heads: 8, kvHeads: 2 });
    const { items, merges } = decodeSplits(plan, { tile: 32, kvHeads: 2, headBlocks: 1, right: 120 });
    // Unit 0 is sparse: min(40, 2 x 123) blocks = 160 tiles; unit 4 is dense: 1 block = 4 tiles. 164 tiles over
    // ~128 splits (256 workgroups / 2 kv heads) -> 2 tiles a split.
    assert.deepEqual(Array.from(merges), [0, 0, 80, 0, 2, 80, 2, 0]);
    assert.equal(items.length / 4, 82);
    assert.deepEqual(Array.from(items.subarray(0, 8)), [0, 0, 80, 0, 0, 1, 80, 0]);
  });
});
