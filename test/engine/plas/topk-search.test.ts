/**
 * The approximate top-k's two search rules ('original', the published min/max bisection; 'refined', forced blocks out
 * of the search, up to 2 x iterations, never below left): shaders/plas_select_topk.wgsl against its twin bit for bit
 * under both, on random rows and on score rows captured from PLAS Mini (test/fixtures/plas/score-rows-plas-mini.json,
 * tools/plas/capture-score-rows.ts); and how often each lands in [left, right] on those captured rows
 * (tools/plas/topk-range.ts prints the whole table).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { plasSelectTopk } from '../../../engine/gpu/kernels/plas-select-topk.ts';
import type { TopkSearch } from '../../../engine/plas/config.ts';
import { NEG_BIG } from '../../../engine/reference/plas-block-scores.ts';
import { plasSelectTopk as selectRef } from '../../../engine/reference/plas-select-topk.ts';
import { DEFAULT_SCORE_ROWS, readScoreRows, type ScoreRowsFile } from '../../../tools/plas/score-rows-file.ts';
import { CAPTURED_RANGES, rangeStats } from '../../../tools/plas/topk-range.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { Rng } from '../../helpers/random.ts';
import { destroy, pagedBatch, u32Tensor, uploadTables } from './paged-fixture.ts';

const SEARCHES: TopkSearch[] = ['original', 'refined'];

let captured: ScoreRowsFile;
before(async () => {
  captured = await readScoreRows(DEFAULT_SCORE_ROWS);
});

/** Normal rows with a sink and a hot recent block now and then, heavy outliers, or ties. */
function randomRow(rng: Rng, n: number): Float32Array {
  const row = rng.normals(n, rng.pick([0.1, 1, 30]));
  const shape = rng.int(0, 3);
  if (shape === 0) {
    row[0] += 40;
    row[n - 1] += 20;
  } else if (shape === 1) {
    for (let b = 0; b < n; b++) if (rng.next() < 0.03) row[b] *= 10;
  } else if (shape === 2) {
    return row.map((x) => Math.round(x * 2));
  }
  return row;
}

interface SelectCase {
  blockSize: number;
  heads: number;
  left: number;
  right: number;
  iterations: number;
  /** Per sequence: (kvLength, numQueries); each query row gets `scores(row, nb)`. */
  specs: { kvLength: number; numQueries: number }[];
  window?: number;
}

/** Runs the kernel on the case's rows and returns its selection and the twin's, for every row (all are items). */
async function runBoth(
  rng: Rng,
  c: SelectCase,
  search: TopkSearch,
  rowScores: (row: number, head: number, maxBlocks: number) => Float32Array,
): Promise<{ got: ArrayLike<number>; want: Uint32Array }> {
  const gpu = await testGpu();
  const f = pagedBatch(rng, c.specs, 16);
  const items = Uint32Array.from(f.sequences.flatMap((s, seq) => [seq, 0, s.numQueries, 0]));
  const maxBlocks = Math.ceil(Math.max(...c.specs.map((s) => s.kvLength)) / c.blockSize);
  const words = Math.ceil(maxBlocks / 32);
  const scores = new Float32Array(f.totalTokens * c.heads * maxBlocks);
  for (let row = 0; row < f.totalTokens; row++) {
    for (let h = 0; h < c.heads; h++) scores.set(rowScores(row, h, maxBlocks), (row * c.heads + h) * maxBlocks);
  }
  const tables = uploadTables(gpu, f);
  const t = {
    scores: gpu.upload('f32', [f.totalTokens, c.heads, maxBlocks], scores, 'scores'),
    items: u32Tensor(gpu, items, 'items'),
    selection: gpu.createTensor('u32', [f.totalTokens, c.heads, words], 'selection'),
  };
  const step = gpu.step('select');
  const maxItemTokens = Math.max(...c.specs.map((s) => s.numQueries));
  plasSelectTopk(step, { ...t, seqs: tables.seqs, ...c, search, maxItemTokens });
  await step.submit();
  const got = await gpu.readInts(t.selection);
  const want = selectRef(scores, f.seqs, items, {
    ...c,
    search,
    maxBlocks,
    words,
    totalTokens: f.totalTokens,
    rowBase: 0,
  });
  destroy(t.scores, t.items, t.selection, tables.seqs, tables.blockTables);
  return { got, want };
}

function assertSame(got: ArrayLike<number>, want: Uint32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) assert.equal(got[i] >>> 0, want[i] >>> 0, `${what}: word ${i}`);
}

describe('plas_select_topk matches its twin under both search rules', () => {
  it('on random rows: decode and prefill, ranges below and above the candidates, sinks, outliers, ties, windows', async () => {
    const rng = new Rng(19);
    const cases: SelectCase[] = [
      { blockSize: 16, heads: 4, left: 1, right: 1, iterations: 6, specs: [] },
      { blockSize: 16, heads: 2, left: 5, right: 8, iterations: 3, specs: [] },
      { blockSize: 32, heads: 3, left: 20, right: 30, iterations: 6, specs: [] },
      { blockSize: 16, heads: 2, left: 4, right: 6, iterations: 6, specs: [], window: 200 },
    ];
    for (const [ci, c] of cases.entries()) {
      // One-token sequences, a few blocks (forced blocks only, fewer than right), and long rows of both kinds.
      c.specs = [1, 20, 40, 130, 700, 1500, 2100].map((kvLength, i) => ({
        kvLength,
        numQueries: i % 2 ? Math.min(kvLength, 5) : 1,
      }));
      for (const search of SEARCHES) {
        const { got, want } = await runBoth(rng, c, search, (_r, _h, n) => randomRow(rng, n));
        assertSame(got, want, `case ${ci} ${search}`);
      }
    }
  });

  it('on the rows captured from PLAS Mini (learned gate, blocks of 32; mean pooling, blocks of 16)', async () => {
    const rng = new Rng(20);
    for (const blockSize of [32, 16]) {
      const rows = captured.rows.filter((r) => r.blockSize === blockSize);
      assert.ok(rows.length >= 300, `${rows.length} captured rows of blocks of ${blockSize}`);
      // One decode sequence per row, at the row's position: the kernel sees exactly the captured candidates.
      const specs = rows.map((r) => ({ kvLength: r.position + 1, numQueries: 1 }));
      const pad = (row: number, _head: number, maxBlocks: number) => {
        const out = new Float32Array(maxBlocks).fill(NEG_BIG);
        out.set(rows[row].scores);
        return out;
      };
      for (const [left, right] of [
        [1, 1],
        [8, 8],
        [8, 12],
      ]) {
        for (const search of SEARCHES) {
          const c = { blockSize, heads: 1, left, right, iterations: 6, specs };
          const { got, want } = await runBoth(rng, c, search, pad);
          assertSame(got, want, `blocks of ${blockSize}, [${left}, ${right}], ${search}`);
        }
      }
    }
  });
});

describe('on score rows captured from PLAS Mini', () => {
  it('the refined search lands in [left, right] for >= 98% of rows and never keeps fewer free blocks than left', (t) => {
    for (const blockSize of [32, 16]) {
      const rows = captured.rows.filter((r) => r.blockSize === blockSize).map((r) => r.scores);
      for (const spec of CAPTURED_RANGES) {
        const original = rangeStats(rows, spec.range, 'original', 6);
        const refined = rangeStats(rows, spec.range, 'refined', 6);
        t.diagnostic(
          `blocks of ${blockSize}, ${spec.label} (${refined.rows} rows): in range ${pct(original.inRange, original.rows)} ` +
            `-> ${pct(refined.inRange, refined.rows)}; free blocks in range ${pct(original.freeInRange, original.rows)} ` +
            `-> ${pct(refined.freeInRange, refined.rows)}; fewer than left ${pct(original.under, original.rows)} -> ` +
            `${pct(refined.under, refined.rows)}`,
        );
        assert.ok(refined.rows >= 300, `${spec.label}: ${refined.rows} rows searched`);
        assert.ok(
          refined.inRange >= 0.98 * refined.rows,
          `${spec.label}: refined ${pct(refined.inRange, refined.rows)}`,
        );
        assert.equal(refined.under, 0, `${spec.label}: refined rows below left`);
        // The original rule counts the forced blocks too: the hot recent block (the argmax of most rows) fills its
        // count, so on these rows it keeps fewer free blocks than asked for in most rows.
        assert.ok(original.under > 0.3 * original.rows, `${spec.label}: original under ${original.under}`);
      }
    }
  });

  it("the original rule's own count lands in range less often where the range is narrow ([8, 8])", () => {
    const rows = captured.rows.filter((r) => r.blockSize === 32).map((r) => r.scores);
    const range = () => [8, 8] as [number, number];
    const original = rangeStats(rows, range, 'original', 6);
    const refined = rangeStats(rows, range, 'refined', 6);
    assert.ok(original.inRange < 0.85 * original.rows, `original: ${pct(original.inRange, original.rows)}`);
    assert.ok(refined.inRange > original.inRange);
  });
});

function pct(n: number, d: number): string {
  return d ? `${((100 * n) / d).toFixed(1)}%` : '-';
}
