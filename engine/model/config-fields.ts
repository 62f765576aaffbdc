/**
 * Typed reads of fields from a parsed JSON config object. Every failure throws a ModelConfigError that names the file,
 * the field and the value found, e.g. `config.json: num_hidden_layers (0) must be a positive integer`.
 * A field set to null counts as absent, as transformers treats it.
 */
import { ModelConfigError } from './errors.ts';

/** A value as it appears in the JSON, cut short so a message stays one line. */
export function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ConfigFields {
  constructor(
    readonly json: Record<string, unknown>,
    readonly source: string,
    /** Prefix for nested objects, e.g. 'rope_scaling.' so messages name `rope_scaling.factor`. */
    readonly prefix = '',
  ) {}

  /** The top-level object of a JSON file; anything else (an array, a string) is rejected. */
  static of(json: unknown, source: string): ConfigFields {
    if (!isPlainObject(json)) {
      throw new ModelConfigError(source, '', `expected a JSON object, found ${describeValue(json)}`);
    }
    return new ConfigFields(json, source);
  }

  /** Fields of a nested object, or undefined when the key is absent or null. */
  nested(key: string): ConfigFields | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!isPlainObject(value)) this.fail(key, 'must be an object');
    return new ConfigFields(value, this.source, `${this.prefix}${key}.`);
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** The value, with null mapped to undefined. */
  raw(key: string): unknown {
    const value = this.json[key];
    return value === null ? undefined : value;
  }

  name(key: string): string {
    return `${this.prefix}${key}`;
  }

  /** Throws `source: key (value) problem`. */
  fail(key: string, problem: string): never {
    const value = this.raw(key);
    const shown = value === undefined ? 'is missing;' : `(${describeValue(value)})`;
    throw new ModelConfigError(this.source, this.name(key), `${this.name(key)} ${shown} ${problem}`.trim());
  }

  private required<T>(key: string, fallback: T | undefined, what: string): unknown {
    const value = this.raw(key);
    if (value === undefined && fallback === undefined) this.fail(key, `it must be ${what}`);
    return value ?? fallback;
  }

  positiveInt(key: string, fallback?: number): number {
    const value = this.required(key, fallback, 'a positive integer');
    if (!Number.isSafeInteger(value) || (value as number) <= 0) this.fail(key, 'must be a positive integer');
    return value as number;
  }

  optionalPositiveInt(key: string): number | undefined {
    return this.has(key) ? this.positiveInt(key) : undefined;
  }

  nonNegativeInt(key: string, fallback?: number): number {
    const value = this.required(key, fallback, 'a non-negative integer');
    if (!Number.isSafeInteger(value) || (value as number) < 0) this.fail(key, 'must be a non-negative integer');
    return value as number;
  }

  optionalNonNegativeInt(key: string): number | undefined {
    return this.has(key) ? this.nonNegativeInt(key) : undefined;
  }

  /** A finite number > 0. */
  positiveNumber(key: string, fallback?: number): number {
    const value = this.required(key, fallback, 'a positive number');
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) this.fail(key, 'must be a positive number');
    return value;
  }

  /** A finite number in [min, max] (bounds inclusive unless said otherwise), or undefined when absent. */
  optionalNumberIn(key: string, min: number, max: number, minExclusive = false): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const low = minExclusive ? `> ${min}` : `>= ${min}`;
    const range = max === Number.POSITIVE_INFINITY ? `a number ${low}` : `a number ${low} and <= ${max}`;
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(key, `must be ${range}`);
    if (value < min || (minExclusive && value === min) || value > max) this.fail(key, `must be ${range}`);
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, 'must be true or false');
    return value;
  }

  optionalBool(key: string): boolean | undefined {
    return this.has(key) ? this.bool(key, false) : undefined;
  }

  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(key, 'must be a string');
    return value;
  }

  /** A token id or a list of them (eos_token_id is either); [] when absent. */
  tokenIds(key: string): number[] {
    const value = this.raw(key);
    if (value === undefined) return [];
    const ids = Array.isArray(value) ? value : [value];
    if (!ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
      this.fail(key, 'must be a token id (a non-negative integer) or a list of them');
    }
    return [...new Set(ids as number[])];
  }
}
