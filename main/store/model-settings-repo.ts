/**
 * Per-model settings the app remembers (e.g. the PLAS ranges the Tuning page last used for a model), keyed by model
 * name. Not tied to the models registry: settings outlive removing and re-adding a model, and provider models have
 * them too. The settings object is the app's own; the store keeps it whole.
 */
import type { Db } from './database.ts';

export interface ModelSettings {
  model: string;
  settings: Record<string, unknown>;
  /** null when nothing was saved yet (settings is then {}). */
  updatedAt: number | null;
}

export class ModelSettingsRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** What was saved for the model, or empty settings. */
  get(model: string): ModelSettings {
    const row = this.db.prepare('SELECT settings, updated_at FROM model_settings WHERE model = ?').get(model) as
      | { settings: string; updated_at: number }
      | undefined;
    return row
      ? { model, settings: JSON.parse(row.settings), updatedAt: row.updated_at }
      : { model, settings: {}, updatedAt: null };
  }

  /** Replaces the model's settings whole. */
  put(model: string, settings: Record<string, unknown>): ModelSettings {
    this.db.transaction(() =>
      this.db
        .prepare(
          `INSERT INTO model_settings (model, settings, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (model) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
        )
        .run(model, JSON.stringify(settings), this.now()),
    )();
    return this.get(model);
  }

  remove(model: string): boolean {
    return this.db.transaction(
      () => this.db.prepare('DELETE FROM model_settings WHERE model = ?').run(model).changes > 0,
    )();
  }
}
