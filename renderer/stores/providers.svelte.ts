/**
 * The remote providers (GET /api/providers) with their health, the changes the Models page makes to them (add,
 * enable, replace or remove the key, check now, remove), and the Tuning page's FastDeploy export. A refused change
 * comes back as the field the server named and its message, so the form shows it beside that field.
 */
import { describe } from '../services/errors.ts';
import { type ProviderChange, type ProviderInput, ProviderRefusal, providersApi } from '../services/providers-api.ts';
import type { FastDeployPlasConfig, Provider } from '../services/types.ts';

/** The form fields a refusal can be shown beside; anything else is shown for the whole form. */
export type ProviderField = 'name' | 'baseUrl' | 'kind' | 'apiKey';
const FIELDS: readonly string[] = ['name', 'baseUrl', 'kind', 'apiKey'];

export interface Refused {
  field: ProviderField | null;
  message: string;
}

function refusedFrom(error: unknown): Refused {
  const param = error instanceof ProviderRefusal ? error.param : null;
  const field = param !== null && FIELDS.includes(param) ? (param as ProviderField) : null;
  return { field, message: describe(error) };
}

type Busy = 'checking' | 'saving' | 'removing';

class ProvidersStore {
  #providers = $state<Provider[]>([]);
  #fetched = $state(false);
  #error = $state<string | null>(null);
  #busy = $state<Record<string, Busy>>({});
  /** Why the last action on a provider failed (enable, check, remove), shown in its row. */
  #rowErrors = $state<Record<string, string>>({});

  get providers(): Provider[] {
    return this.#providers;
  }
  /** false until the first answer: the page shows "asking" rather than the empty state. */
  get fetched(): boolean {
    return this.#fetched;
  }
  get error(): string | null {
    return this.#error;
  }
  /** The FastDeploy providers: the Tuning page offers its export when there is one. */
  get fastDeploy(): Provider[] {
    return this.#providers.filter((p) => p.kind === 'fastdeploy');
  }
  /** true while a health check runs on the server: the page asks again soon. */
  get checking(): boolean {
    return this.#providers.some((p) => p.status.state === 'checking');
  }
  busy(name: string): Busy | undefined {
    return this.#busy[name];
  }
  rowError(name: string): string | undefined {
    return this.#rowErrors[name];
  }

  async refresh(): Promise<void> {
    try {
      this.#providers = await providersApi.list();
      this.#error = null;
    } catch (error) {
      this.#error = `Could not list the providers: ${describe(error)}`;
    } finally {
      this.#fetched = true;
    }
  }

  /** Adds a provider; resolves null when added, else what was refused. */
  async add(input: ProviderInput): Promise<Refused | null> {
    try {
      const added = await providersApi.add(input);
      this.#providers = [...this.#providers.filter((p) => p.name !== added.name), added];
    } catch (error) {
      return refusedFrom(error);
    }
    return null;
  }

  /** Changes a provider (URL, kind, key, enabled); resolves null when saved, else what was refused. */
  async update(name: string, change: ProviderChange): Promise<Refused | null> {
    return this.#run(name, 'saving', () => providersApi.update(name, change));
  }

  /** Checks its health and lists its models now. */
  async check(name: string): Promise<void> {
    const refused = await this.#run(name, 'checking', () => providersApi.check(name));
    if (refused) this.#rowErrors[name] = `Could not check ${name}: ${refused.message}`;
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    const refused = await this.update(name, { enabled });
    if (refused) this.#rowErrors[name] = `Could not ${enabled ? 'enable' : 'disable'} ${name}: ${refused.message}`;
  }

  /** Removes a provider; resolves null when removed, else why not (shown in the confirmation). */
  async remove(name: string): Promise<string | null> {
    this.#busy[name] = 'removing';
    try {
      await providersApi.remove(name);
      this.#providers = this.#providers.filter((p) => p.name !== name);
      delete this.#rowErrors[name];
      return null;
    } catch (error) {
      return describe(error);
    } finally {
      delete this.#busy[name];
    }
  }

  async #run(name: string, busy: Busy, action: () => Promise<Provider>): Promise<Refused | null> {
    this.#busy[name] = busy;
    delete this.#rowErrors[name];
    try {
      const answer = await action();
      this.#providers = this.#providers.map((p) => (p.name === name ? answer : p));
      return null;
    } catch (error) {
      return refusedFrom(error);
    } finally {
      delete this.#busy[name];
    }
  }
}

export const providers = new ProvidersStore();

/**
 * The Tuning page's FastDeploy export: a local model's saved PLAS ranges as FastDeploy's --plas-attention-config and
 * launch command. Only the newest request's answer is kept (the user may switch model while one is in flight).
 */
class FastDeployExportStore {
  #result = $state<FastDeployPlasConfig | null>(null);
  #error = $state<string | null>(null);
  #loading = $state(false);
  #asked = 0;

  get result(): FastDeployPlasConfig | null {
    return this.#result;
  }
  get error(): string | null {
    return this.#error;
  }
  get loading(): boolean {
    return this.#loading;
  }

  async load(provider: string, model: string): Promise<void> {
    const asked = ++this.#asked;
    this.#loading = true;
    try {
      const result = await providersApi.plasConfig(provider, model);
      if (asked !== this.#asked) return;
      this.#result = result;
      this.#error = null;
    } catch (error) {
      if (asked !== this.#asked) return;
      this.#result = null;
      this.#error = describe(error);
    } finally {
      if (asked === this.#asked) this.#loading = false;
    }
  }
}

export const fastDeployExport = new FastDeployExportStore();
