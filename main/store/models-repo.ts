/**
 * The models registry: which model folders the server knows, under which names. A name is only ever a key here; the
 * folder path stored with it was validated when the model was added and is the only path the server loads from.
 */
import type { Db } from './database.ts';

export interface ModelRecord {
  name: string;
  path: string;
  architecture: string;
  parameters: number;
  dtype: string;
  contextLength: number;
  sizeBytes: number;
  /** ms since the epoch. */
  addedAt: number;
  /** This model's keep-alive in ms (-1: forever); null: the server's default. */
  keepAliveMs: number | null;
}

export class DuplicateModelError extends Error {
  override name = 'DuplicateModelError';
  constructor(readonly model: string) {
    super(`a model named '${model}' is already registered: remove it first or pick another name`);
  }
}

interface Row {
  name: string;
  path: string;
  architecture: string;
  parameters: number;
  dtype: string;
  context_length: number;
  size_bytes: number;
  added_at: number;
  keep_alive_ms: number | null;
}

const fromRow = (r: Row): ModelRecord => ({
  name: r.name,
  path: r.path,
  architecture: r.architecture,
  parameters: r.parameters,
  dtype: r.dtype,
  contextLength: r.context_length,
  sizeBytes: r.size_bytes,
  addedAt: r.added_at,
  keepAliveMs: r.keep_alive_ms,
});

export class ModelsRepository {
  constructor(private readonly db: Db) {}

  list(): ModelRecord[] {
    return (this.db.prepare('SELECT * FROM models ORDER BY added_at, name').all() as Row[]).map(fromRow);
  }

  get(name: string): ModelRecord | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE name = ?').get(name) as Row | undefined;
    return row && fromRow(row);
  }

  findByPath(path: string): ModelRecord | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE path = ? ORDER BY added_at LIMIT 1').get(path) as
      | Row
      | undefined;
    return row && fromRow(row);
  }

  /** Throws DuplicateModelError when the name is taken. */
  add(record: ModelRecord): void {
    try {
      this.db
        .prepare(
          `INSERT INTO models (name, path, architecture, parameters, dtype, context_length, size_bytes, added_at,
             keep_alive_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.name,
          record.path,
          record.architecture,
          record.parameters,
          record.dtype,
          record.contextLength,
          record.sizeBytes,
          record.addedAt,
          record.keepAliveMs,
        );
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
        throw new DuplicateModelError(record.name);
      throw error;
    }
  }

  /** Refreshes what was read from the folder (it may have changed on disk since it was added). */
  updateSummary(
    name: string,
    s: Pick<ModelRecord, 'architecture' | 'parameters' | 'dtype' | 'contextLength' | 'sizeBytes'>,
  ): void {
    this.db
      .prepare(
        'UPDATE models SET architecture = ?, parameters = ?, dtype = ?, context_length = ?, size_bytes = ? WHERE name = ?',
      )
      .run(s.architecture, s.parameters, s.dtype, s.contextLength, s.sizeBytes, name);
  }

  /** Points a name at another path (the bundled model of another copy of the app: registry.ts). */
  movePath(name: string, path: string): boolean {
    return this.db.prepare('UPDATE models SET path = ? WHERE name = ?').run(path, name).changes > 0;
  }

  setKeepAlive(name: string, keepAliveMs: number | null): boolean {
    return this.db.prepare('UPDATE models SET keep_alive_ms = ? WHERE name = ?').run(keepAliveMs, name).changes > 0;
  }

  /** false when no such model was registered. */
  remove(name: string): boolean {
    return this.db.prepare('DELETE FROM models WHERE name = ?').run(name).changes > 0;
  }
}
