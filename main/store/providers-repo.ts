/**
 * Remote providers (issue 18): name, base URL, kind, enabled, and the API key sealed by a KeyBox (AES-256-GCM under
 * the master key; the plaintext never reaches the database). Keys are keyed by the provider's name, which is also
 * the prefix of its models ("NAME/MODEL").
 */
import type { ProviderKind } from '../server/providers/provider-types.ts';
import type { Db } from './database.ts';

/** Seals and opens API keys; `context` (the provider's name) binds a sealed value to its row. */
export interface KeySealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** A stored provider as the server reads it: whether it has a key, never the key. */
export interface ProviderRecord {
  name: string;
  baseUrl: string;
  kind: ProviderKind;
  enabled: boolean;
  hasKey: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ProviderInput {
  name: string;
  baseUrl: string;
  kind: ProviderKind;
  enabled: boolean;
  /** undefined or '' : no key. */
  apiKey?: string;
}

/** undefined leaves a field as it is; apiKey '' clears the key. */
export type ProviderPatch = Partial<Omit<ProviderInput, 'name'>>;

export class DuplicateProviderError extends Error {
  override name = 'DuplicateProviderError';
  constructor(readonly provider: string) {
    super(`a provider named "${provider}" exists already: pick another name`);
  }
}

export class UnknownProviderError extends Error {
  override name = 'UnknownProviderError';
  constructor(readonly provider: string) {
    super(`no provider named "${provider}"`);
  }
}

interface Row {
  name: string;
  base_url: string;
  kind: string;
  sealed_key: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}

const fromRow = (r: Row): ProviderRecord => ({
  name: r.name,
  baseUrl: r.base_url,
  kind: r.kind as ProviderKind,
  enabled: r.enabled === 1,
  hasKey: r.sealed_key !== null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class ProvidersRepository {
  constructor(
    private readonly db: Db,
    private readonly box: KeySealer,
    private readonly now: () => number = Date.now,
  ) {}

  /** By name. */
  list(): ProviderRecord[] {
    return (this.db.prepare('SELECT * FROM providers ORDER BY name').all() as Row[]).map(fromRow);
  }

  get(name: string): ProviderRecord | undefined {
    const row = this.db.prepare('SELECT * FROM providers WHERE name = ?').get(name) as Row | undefined;
    return row && fromRow(row);
  }

  create(input: ProviderInput): ProviderRecord {
    const t = this.now();
    const sealed = input.apiKey ? this.box.seal(input.apiKey, input.name) : null;
    try {
      this.db.transaction(() =>
        this.db
          .prepare(
            `INSERT INTO providers (name, base_url, kind, sealed_key, enabled, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(input.name, input.baseUrl, input.kind, sealed, input.enabled ? 1 : 0, t, t),
      )();
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new DuplicateProviderError(input.name);
      }
      throw error;
    }
    return this.get(input.name) as ProviderRecord;
  }

  update(name: string, patch: ProviderPatch): ProviderRecord {
    const current = this.db.prepare('SELECT * FROM providers WHERE name = ?').get(name) as Row | undefined;
    if (!current) throw new UnknownProviderError(name);
    const sealed =
      patch.apiKey === undefined ? current.sealed_key : patch.apiKey === '' ? null : this.box.seal(patch.apiKey, name);
    this.db.transaction(() =>
      this.db
        .prepare(
          'UPDATE providers SET base_url = ?, kind = ?, sealed_key = ?, enabled = ?, updated_at = ? WHERE name = ?',
        )
        .run(
          patch.baseUrl ?? current.base_url,
          patch.kind ?? current.kind,
          sealed,
          patch.enabled === undefined ? current.enabled : patch.enabled ? 1 : 0,
          this.now(),
          name,
        ),
    )();
    return this.get(name) as ProviderRecord;
  }

  remove(name: string): boolean {
    return this.db.transaction(() => this.db.prepare('DELETE FROM providers WHERE name = ?').run(name).changes > 0)();
  }

  /** The provider's API key as stored (sealed), for what the key ring can say about it; null when it has none. */
  sealedKey(name: string): string | null {
    const row = this.db.prepare('SELECT sealed_key FROM providers WHERE name = ?').get(name) as
      | { sealed_key: string | null }
      | undefined;
    return row?.sealed_key ?? null;
  }

  /** The provider's API key in plain text (for the request to its own origin only); null when it has none. */
  apiKey(name: string): string | null {
    const row = this.db.prepare('SELECT sealed_key FROM providers WHERE name = ?').get(name) as
      | { sealed_key: string | null }
      | undefined;
    if (!row) throw new UnknownProviderError(name);
    return row.sealed_key === null ? null : this.box.open(row.sealed_key, name);
  }
}
