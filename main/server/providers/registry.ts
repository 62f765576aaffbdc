/**
 * The providers the server knows: their stored settings (ProvidersRepository, keys sealed), and what was last seen of
 * each (health and models). It validates what users enter, checks a provider when it is added or changed, on demand
 * and periodically (refresh-schedule.ts), hears how forwarded requests went (a refused connection marks a provider
 * down at once, an answer marks it up), and resolves "NAME/MODEL" for the /v1 routes.
 */

import type { Db } from '../../store/database.ts';
import {
  DuplicateProviderError,
  type ProviderRecord,
  ProvidersRepository,
  UnknownProviderError,
} from '../../store/providers-repo.ts';
import { HttpError } from '../http-error.ts';
import { checkHealth, type HealthResult } from './health-check.ts';
import { AppSealedKeyError, KeyRing } from './key-ring.ts';
import { checkApiKey, checkKind, checkProviderName, normalizeBaseUrl } from './provider-input.ts';
import type { Provider, ProviderKind, ProviderStatus, ProviderTimeouts } from './provider-types.ts';
import { nextCheckDelay, RefreshSchedule } from './refresh-schedule.ts';

export interface ProviderCreate {
  name: string;
  baseUrl: string;
  kind?: string;
  apiKey?: string;
  enabled?: boolean;
}
export type ProviderUpdate = Partial<Omit<ProviderCreate, 'name'>>;

/** Where a "NAME/MODEL" request goes. */
export interface ProviderTarget {
  provider: ProviderRecord;
  /** The provider's own model id. */
  model: string;
  status: ProviderStatus;
}

interface Seen {
  status: ProviderStatus;
  models: string[];
  failures: number;
  checking: Promise<void> | null;
}

const DISABLED: ProviderStatus = { state: 'disabled', latencyMs: null, checkedAt: null, error: null };

export class ProviderRegistry {
  readonly #repo: ProvidersRepository;
  readonly #ring: KeyRing;
  readonly #seen = new Map<string, Seen>();
  readonly #schedule = new RefreshSchedule((name) => void this.check(name).catch(() => {}));

  constructor(
    db: Db,
    masterKey: Buffer | KeyRing,
    readonly timeouts: ProviderTimeouts,
    private readonly log: (message: string) => void = () => {},
  ) {
    this.#ring = masterKey instanceof KeyRing ? masterKey : KeyRing.single(masterKey);
    this.#repo = new ProvidersRepository(db, this.#ring);
  }

  /** Checks every enabled provider once, in the background (at server start). */
  start(): void {
    for (const p of this.#repo.list()) if (p.enabled) this.#schedule.at(p.name, 0);
  }

  close(): void {
    this.#schedule.close();
  }

  list(): Provider[] {
    return this.#repo.list().map((p) => this.#view(p));
  }

  get(name: string): Provider {
    return this.#view(this.#record(name));
  }

  /** Stores it, then checks it (within timeouts.healthMs) so the answer has its models. */
  async create(input: ProviderCreate): Promise<Provider> {
    const name = checkProviderName(input.name);
    const fields = {
      name,
      baseUrl: normalizeBaseUrl(input.baseUrl),
      kind: checkKind(input.kind),
      apiKey: checkApiKey(input.apiKey),
      enabled: input.enabled ?? true,
    };
    let record: ProviderRecord;
    try {
      record = this.#repo.create(fields);
    } catch (error) {
      if (error instanceof DuplicateProviderError) {
        throw new HttpError(409, `name: ${error.message}`, 'invalid_request_error', 'name', 'provider_exists');
      }
      throw error;
    }
    this.#seen.delete(name);
    if (record.enabled) await this.check(name);
    return this.get(name);
  }

  async update(name: string, patch: ProviderUpdate): Promise<Provider> {
    const before = this.#record(name);
    const record = this.#repo.update(name, {
      baseUrl: patch.baseUrl === undefined ? undefined : normalizeBaseUrl(patch.baseUrl),
      kind: patch.kind === undefined ? undefined : checkKind(patch.kind),
      apiKey: checkApiKey(patch.apiKey),
      enabled: patch.enabled,
    });
    const reachedDifferently = record.baseUrl !== before.baseUrl || patch.apiKey !== undefined;
    // An edit of its address or kind is checked at once, changed or not: the user wants to see it answer now.
    const edited = patch.baseUrl !== undefined || patch.kind !== undefined;
    if (!record.enabled) {
      this.#schedule.cancel(name);
      this.#seen.delete(name);
    } else if (reachedDifferently || edited || !before.enabled) {
      if (reachedDifferently) this.#seen.delete(name); // the old list may not hold at the new address
      await this.check(name);
    }
    return this.get(name);
  }

  remove(name: string): void {
    if (!this.#repo.remove(name)) throw this.#notFound(name);
    this.#schedule.cancel(name);
    this.#seen.delete(name);
  }

  /** A health check and model list now (one at a time per provider: a second caller waits for the first). */
  async check(name: string): Promise<Provider> {
    const record = this.#record(name);
    if (!record.enabled) return this.#view(record);
    const seen = this.#seenOf(name);
    if (!seen.checking) {
      if (seen.status.checkedAt === null) seen.status = { ...seen.status, state: 'checking' };
      seen.checking = (async () => {
        let result: HealthResult;
        try {
          result = await checkHealth(record, this.#key(record), this.timeouts);
        } catch (error) {
          // A key that does not decrypt (another master key, or the app's out of reach): say so, without the value.
          const why = (error as Error).message;
          result = {
            status: {
              state: 'down',
              latencyMs: null,
              checkedAt: Date.now(),
              error: `Provider "${name}": ${why}${error instanceof AppSealedKeyError ? '' : '; enter its API key again'}`,
            },
            models: null,
          };
        }
        this.#apply(name, result);
      })().finally(() => {
        seen.checking = null;
      });
    }
    await seen.checking;
    return this.get(name);
  }

  /**
   * The provider a model name routes to: "NAME/MODEL" with NAME a provider, unless a local model has that exact name
   * (`isLocal`). Undefined when it is not a provider's model.
   */
  resolve(model: string, isLocal: (name: string) => boolean): ProviderTarget | undefined {
    const slash = model.indexOf('/');
    if (slash <= 0 || slash === model.length - 1 || isLocal(model)) return undefined;
    const provider = this.#repo.get(model.slice(0, slash));
    if (!provider) return undefined;
    return { provider, model: model.slice(slash + 1), status: this.#view(provider).status };
  }

  /** The plaintext key, for a request to the provider's own origin only. Throws when it does not decrypt. */
  apiKey(name: string): string | null {
    return this.#repo.apiKey(name);
  }

  /** How a forwarded request went: reachable or not says more, and sooner, than the next periodic check. */
  reportReachable(name: string): void {
    const seen = this.#seen.get(name);
    if (seen && seen.status.state === 'down') void this.check(name).catch(() => {});
  }

  reportUnreachable(name: string, reason: string): void {
    const seen = this.#seenOf(name);
    if (seen.status.state === 'down') return;
    this.#apply(name, {
      status: { state: 'down', latencyMs: null, checkedAt: Date.now(), error: reason },
      models: null,
    });
  }

  /** /v1/models entries: every enabled provider's models, available or not (with the reason). */
  models(): { id: string; provider: string; available: boolean; reason: string | null; kind: ProviderKind }[] {
    const out = [];
    for (const p of this.list()) {
      const available = p.status.state === 'ok';
      const reason =
        p.status.state === 'disabled'
          ? `Provider "${p.name}" is disabled`
          : p.status.state === 'checking'
            ? `Provider "${p.name}" is being checked`
            : p.status.error;
      for (const m of p.models) out.push({ id: `${p.name}/${m}`, provider: p.name, available, reason, kind: p.kind });
    }
    return out;
  }

  #apply(name: string, result: HealthResult): void {
    if (!this.#repo.get(name)) return; // removed while it was checked
    const seen = this.#seenOf(name);
    const wasDown = seen.status.state === 'down';
    seen.status = result.status;
    if (result.models) seen.models = result.models;
    seen.failures = result.status.state === 'ok' ? 0 : seen.failures + 1;
    if (result.status.state === 'down' && !wasDown) this.log(`provider ${name} is down: ${result.status.error}`);
    if (result.status.state === 'ok' && wasDown) this.log(`provider ${name} is up again`);
    this.#schedule.at(name, nextCheckDelay(result.status.state === 'ok', seen.failures, this.timeouts.refreshMs));
  }

  #seenOf(name: string): Seen {
    let seen = this.#seen.get(name);
    if (!seen) {
      seen = {
        status: { state: 'checking', latencyMs: null, checkedAt: null, error: null },
        models: [],
        failures: 0,
        checking: null,
      };
      this.#seen.set(name, seen);
    }
    return seen;
  }

  #key(record: ProviderRecord): string | null {
    return record.hasKey ? this.#repo.apiKey(record.name) : null;
  }

  #keyView(p: ProviderRecord): { keyReadable: boolean; keyNote: string | null } {
    const sealed = p.hasKey ? this.#repo.sealedKey(p.name) : null;
    if (sealed === null) return { keyReadable: true, keyNote: null };
    const d = this.#ring.describe(sealed, p.name);
    return { keyReadable: d.readable, keyNote: d.note };
  }

  #record(name: string): ProviderRecord {
    const record = this.#repo.get(name);
    if (!record) throw this.#notFound(name);
    return record;
  }

  #notFound(name: string): HttpError {
    return new HttpError(404, new UnknownProviderError(name).message, 'not_found_error', 'name', 'not_found');
  }

  #view(p: ProviderRecord): Provider {
    const seen = this.#seen.get(p.name);
    return {
      name: p.name,
      baseUrl: p.baseUrl,
      kind: p.kind,
      enabled: p.enabled,
      hasKey: p.hasKey,
      ...this.#keyView(p),
      status: p.enabled ? { ...(seen?.status ?? { ...DISABLED, state: 'checking' }) } : { ...DISABLED },
      models: [...(seen?.models ?? [])],
    };
  }
}
