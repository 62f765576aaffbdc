/**
 * Presets: a named system prompt and sampling the user can start a conversation from. Names are unique regardless of
 * case ("Coder" and "coder" would be indistinguishable in a menu).
 */
import { randomUUID } from 'node:crypto';
import { ChatStoreError, type Preset } from './chat-types.ts';
import type { Db } from './database.ts';

// Declared with the other chat records (an import-free file the renderer imports too).
export type { Preset } from './chat-types.ts';

export type PresetInput = Pick<Preset, 'name'> & Partial<Pick<Preset, 'systemPrompt' | 'sampling'>>;

interface Row {
  id: string;
  name: string;
  system_prompt: string | null;
  sampling: string;
  created_at: number;
  updated_at: number;
}

const fromRow = (r: Row): Preset => ({
  id: r.id,
  name: r.name,
  systemPrompt: r.system_prompt,
  sampling: JSON.parse(r.sampling),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const duplicate = (name: string) =>
  new ChatStoreError('conflict', 'name', `a preset named ${JSON.stringify(name)} exists already: pick another name`);

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export class PresetsRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** By name, case-insensitively. */
  list(): Preset[] {
    return (this.db.prepare('SELECT * FROM presets ORDER BY name').all() as Row[]).map(fromRow);
  }

  get(id: string): Preset | undefined {
    const row = this.db.prepare('SELECT * FROM presets WHERE id = ?').get(id) as Row | undefined;
    return row && fromRow(row);
  }

  create(input: PresetInput): Preset {
    const id = randomUUID();
    const t = this.now();
    try {
      this.db.transaction(() =>
        this.db
          .prepare(
            'INSERT INTO presets (id, name, system_prompt, sampling, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(id, input.name, input.systemPrompt ?? null, JSON.stringify(input.sampling ?? {}), t, t),
      )();
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(input.name);
      throw error;
    }
    return this.get(id) as Preset;
  }

  update(id: string, patch: Partial<PresetInput>): Preset {
    const p = this.get(id);
    if (!p) throw new ChatStoreError('not_found', 'id', `no preset with id ${JSON.stringify(id)}`);
    const name = patch.name ?? p.name;
    try {
      this.db.transaction(() =>
        this.db
          .prepare('UPDATE presets SET name = ?, system_prompt = ?, sampling = ?, updated_at = ? WHERE id = ?')
          .run(
            name,
            patch.systemPrompt === undefined ? p.systemPrompt : patch.systemPrompt,
            JSON.stringify(patch.sampling ?? p.sampling),
            this.now(),
            id,
          ),
      )();
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(name);
      throw error;
    }
    return this.get(id) as Preset;
  }

  remove(id: string): boolean {
    return this.db.transaction(() => this.db.prepare('DELETE FROM presets WHERE id = ?').run(id).changes > 0)();
  }
}
