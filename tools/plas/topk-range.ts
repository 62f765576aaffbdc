/**
 * How often PLAS's approximate top-k lands in [left, right], per search rule ('original': the published min/max
 * bisection, `iterations` steps; 'refined': forced blocks out of the search, up to 2 x iterations, never below left),
 * on score rows captured from a real model (tools/plas/capture-score-rows.ts; default the committed PLAS Mini fixture)
 * and on synthetic rows. Uses the TypeScript twin of shaders/plas_select_topk.wgsl (the tests hold the kernel to it).
 *
 *   npx tsx tools/plas/topk-range.ts [--rows FILE] [--iterations 6] [--json]
 *
 * Per rule, over the rows where both rules search (more than right + 3 candidates):
 *   in range   the rule's own count at its final threshold is in [left, right] (the original counts every candidate,
 *              forced ones included; refined counts the free ones);
 *   free in    the free blocks it keeps (not the first, own or previous block) number within [left, right]: the same
 *              yardstick for both rules;
 *   under      it keeps fewer free blocks than left (the selection misses blocks it was asked for).
 */
import { parseArgs } from 'node:util';
import type { TopkSearch } from '../../engine/plas/config.ts';
import { selectRow } from '../../engine/reference/plas-select-topk.ts';
import { DEFAULT_SCORE_ROWS, readScoreRows } from './score-rows-file.ts';

export interface RangeStats {
  rows: number;
  inRange: number;
  freeInRange: number;
  under: number;
  /** Mean free blocks kept per row. */
  freeKept: number;
}

export type RangeSpec = { label: string; range: (nb: number) => [left: number, right: number] };

const fixed = (left: number, right: number): RangeSpec => ({
  label: `[${left}, ${right}]`,
  range: () => [left, right],
});
const share = (a: number, b: number): RangeSpec => ({
  label: `[${a * 100}%, ${b * 100}%]`,
  range: (nb) => {
    const left = Math.max(1, Math.ceil(a * nb));
    return [left, Math.max(left, Math.ceil(b * nb))];
  },
});

/** The ranges reported on captured rows: narrow fixed ones, and shares of the row's blocks. */
export const CAPTURED_RANGES: RangeSpec[] = [
  fixed(1, 1),
  fixed(2, 4),
  fixed(8, 8),
  fixed(8, 12),
  share(0.05, 0.06),
  share(0.1, 0.12),
  share(0.21, 0.25),
];

export function rangeStats(
  rows: readonly ArrayLike<number>[],
  range: (nb: number) => [number, number],
  search: TopkSearch,
  iterations: number,
): RangeStats {
  const s: RangeStats = { rows: 0, inRange: 0, freeInRange: 0, under: 0, freeKept: 0 };
  for (const scores of rows) {
    const nb = scores.length;
    const [left, right] = range(nb);
    if (nb - 3 <= right) continue; // neither rule searches: every block is kept
    const r = selectRow(scores, nb, { left, right, iterations, search });
    const free = r.blocks.filter((b) => b !== 0 && b < nb - 2).length;
    s.rows++;
    if (r.thresholdCount >= left && r.thresholdCount <= right) s.inRange++;
    if (free >= left && free <= right) s.freeInRange++;
    if (free < left) s.under++;
    s.freeKept += free;
  }
  if (s.rows) s.freeKept /= s.rows;
  return s;
}

/** Synthetic rows (a seeded generator): the shapes the kernel test draws, and a sink + hot recent block. */
export function syntheticRows(kind: string, nb: number, count: number, seed = 1): Float32Array[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return Array.from({ length: count }, () => {
    const row = Float32Array.from({ length: nb }, normal);
    if (kind === 'outliers x10') for (let b = 0; b < nb; b++) if (next() < 0.02) row[b] *= 10;
    if (kind === 'sink +10, own +5') {
      row[0] += 10;
      row[nb - 1] += 5;
      row[nb - 2] += 3;
    }
    return row;
  });
}

export const SYNTHETIC_KINDS = ['normal', 'outliers x10', 'sink +10, own +5'];

export interface TableRow {
  source: string;
  range: string;
  original: RangeStats;
  refined: RangeStats;
}

export function rangeTable(
  sources: { name: string; rows: readonly ArrayLike<number>[]; ranges: RangeSpec[] }[],
  iterations: number,
): TableRow[] {
  return sources.flatMap(({ name, rows, ranges }) =>
    ranges.map((r) => ({
      source: name,
      range: r.label,
      original: rangeStats(rows, r.range, 'original', iterations),
      refined: rangeStats(rows, r.range, 'refined', iterations),
    })),
  );
}

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : '-');

export function formatTable(rows: TableRow[], iterations: number): string {
  const cells = (s: RangeStats) =>
    `${pct(s.inRange, s.rows)} | ${pct(s.freeInRange, s.rows)} | ${pct(s.under, s.rows)} | ${s.freeKept.toFixed(2)}`;
  const out = [
    `| rows | range | n | original (${iterations} steps): in range | free in | under | free kept | refined (up to ${2 * iterations}): in range | free in | under | free kept |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows)
    out.push(`| ${r.source} | ${r.range} | ${r.original.rows} | ${cells(r.original)} | ${cells(r.refined)} |`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: DEFAULT_SCORE_ROWS },
      iterations: { type: 'string', default: '6' },
      json: { type: 'boolean', default: false },
    },
  });
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 32) {
    throw new Error(`--iterations must be an integer in [1, 32], got ${values.iterations}`);
  }
  const file = await readScoreRows(values.rows);
  const groups = new Map<string, Float32Array[]>();
  for (const r of file.rows) {
    const name = `${file.model} ${r.pooling}, blocks of ${r.blockSize}`;
    groups.set(name, [...(groups.get(name) ?? []), r.scores]);
  }
  const sources = [...groups].map(([name, rows]) => ({
    name: `${name} (${rows.length})`,
    rows,
    ranges: CAPTURED_RANGES,
  }));
  for (const kind of SYNTHETIC_KINDS) {
    sources.push({
      name: `synthetic ${kind}, 240 blocks`,
      rows: syntheticRows(kind, 240, 512, 7),
      ranges: [fixed(50, 60)],
    });
    sources.push({
      name: `synthetic ${kind}, 480 blocks`,
      rows: syntheticRows(kind, 480, 512, 8),
      ranges: [fixed(100, 120)],
    });
    sources.push({
      name: `synthetic ${kind}, 64 blocks`,
      rows: syntheticRows(kind, 64, 512, 9),
      ranges: [fixed(1, 1), fixed(8, 8)],
    });
  }
  const table = rangeTable(sources, iterations);
  if (values.json) console.log(JSON.stringify({ rowsFile: values.rows, iterations, table }, null, 2));
  else console.log(formatTable(table, iterations));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
