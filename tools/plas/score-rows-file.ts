/**
 * The file of captured PLAS score rows (tools/plas/capture-score-rows.ts writes it; the top-k tests and
 * tools/plas/topk-range.ts read it): JSON with what the rows came from and, per row, its scores as little-endian f32
 * in base64, so they read back bit for bit.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The committed fixture: rows captured from PLAS Mini. */
export const DEFAULT_SCORE_ROWS = join(
  import.meta.dirname,
  '..',
  '..',
  'test',
  'fixtures',
  'plas',
  'score-rows-plas-mini.json',
);

export interface CapturedRow {
  /** 'learned' (the model's gate) or 'mean' (mean pooling). */
  pooling: 'learned' | 'mean';
  /** Index into the file's prompts. */
  /** Tokens per PLAS block the row was scored with. */
  blockSize: number;
  prompt: number;
  layer: number;
  head: number;
  position: number;
  scores: Float32Array;
}

export interface ScoreRowsFile {
  model: string;
  /** How the file was made (the command). */
  command: string;
  prompts: { kind: string; tokens: number; depth: number }[];
  rows: CapturedRow[];
}

interface StoredRow extends Omit<CapturedRow, 'scores'> {
  scores: string;
}

export async function writeScoreRows(path: string, f: ScoreRowsFile): Promise<void> {
  const rows: StoredRow[] = f.rows.map((r) => ({
    ...r,
    scores: Buffer.from(r.scores.buffer, r.scores.byteOffset, r.scores.byteLength).toString('base64'),
  }));
  const lines = rows.map((r) => `    ${JSON.stringify(r)}`).join(',\n');
  const head = JSON.stringify({ ...f, rows: undefined }, null, 2).replace(/\n}$/, '');
  await writeFile(path, `${head},\n  "rows": [\n${lines}\n  ]\n}\n`);
}

export async function readScoreRows(path: string): Promise<ScoreRowsFile> {
  const f = JSON.parse(await readFile(path, 'utf8')) as Omit<ScoreRowsFile, 'rows'> & { rows: StoredRow[] };
  return {
    ...f,
    rows: f.rows.map((r) => {
      const bytes = Buffer.from(r.scores, 'base64');
      const scores = new Float32Array(bytes.length / 4);
      new Uint8Array(scores.buffer).set(bytes);
      return { ...r, scores };
    }),
  };
}
