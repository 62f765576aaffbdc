/**
 * Typed reads of a GGUF file's metadata, failing with a GgufError that names the key and what was found. Integers of
 * any GGUF integer type are accepted where a count is wanted (writers differ: llama.cpp writes u32, others i32/u64).
 */
import { GgufError } from './errors.ts';
import type { GgufFile } from './reader.ts';
import { describeGgufValue, type GgufArray, type GgufValue } from './values.ts';

const INTEGER_TYPES = new Set(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64']);

export class GgufMetadata {
  constructor(readonly file: GgufFile) {}

  fail(key: string, detail: string): never {
    throw new GgufError(this.file.path, `metadata ${key} ${detail}`);
  }

  has(key: string): boolean {
    return this.file.metadata.has(key);
  }

  get(key: string): GgufValue | undefined {
    return this.file.metadata.get(key);
  }

  optionalString(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'string') this.fail(key, `must be a string, found ${describeGgufValue(v)}`);
    return v.value;
  }

  string(key: string): string {
    return this.optionalString(key) ?? this.fail(key, 'is missing');
  }

  /** A non-negative integer that fits a JS number exactly. */
  optionalCount(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (v.type === 'array') {
      this.fail(key, `is ${describeGgufValue(v)}: per-layer values are not supported (every layer must be alike)`);
    }
    if (!INTEGER_TYPES.has(v.type)) this.fail(key, `must be an integer, found ${describeGgufValue(v)}`);
    const n = Number(v.value);
    if (!Number.isSafeInteger(n) || n < 0) this.fail(key, `must be a non-negative integer, found ${String(v.value)}`);
    return n;
  }

  positiveCount(key: string, fallback?: number): number {
    const n = this.optionalCount(key) ?? fallback;
    if (n === undefined) this.fail(key, 'is missing');
    if (n === 0) this.fail(key, 'must be positive, found 0');
    return n;
  }

  optionalNumber(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'f32' && v.type !== 'f64' && !INTEGER_TYPES.has(v.type)) {
      this.fail(key, `must be a number, found ${describeGgufValue(v)}`);
    }
    const n = Number((v as { value: number | bigint }).value);
    if (!Number.isFinite(n)) this.fail(key, `must be finite, found ${n}`);
    return v.type === 'f32' ? shortestF32Decimal(n) : n;
  }

  optionalBool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'bool') this.fail(key, `must be a bool, found ${describeGgufValue(v)}`);
    return v.value;
  }

  private array(key: string): GgufArray | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'array') this.fail(key, `must be an array, found ${describeGgufValue(v)}`);
    return v;
  }

  optionalStringArray(key: string): string[] | undefined {
    const v = this.array(key);
    if (v === undefined) return undefined;
    if (v.itemType !== 'string') this.fail(key, `must be an array of strings, found ${describeGgufValue(v)}`);
    return v.items as string[];
  }

  /** Numbers of any numeric item type (64-bit integers converted). */
  optionalNumberArray(key: string): ArrayLike<number> | undefined {
    const v = this.array(key);
    if (v === undefined) return undefined;
    if (v.itemType === 'u64' || v.itemType === 'i64') return Array.from(v.items as BigInt64Array, Number);
    if (v.itemType === 'string' || v.itemType === 'array' || v.itemType === 'bool') {
      this.fail(key, `must be an array of numbers, found ${describeGgufValue(v)}`);
    }
    return v.items as ArrayLike<number>;
  }
}

/**
 * The shortest decimal that rounds to the same f32: converters write config.json's 1e-5 as the f32 nearest to it
 * (9.99999974738e-6), and this gives back 1e-5, so a GGUF model's config equals its original's.
 */
export function shortestF32Decimal(x: number): number {
  for (let digits = 1; digits <= 9; digits++) {
    const y = Number(x.toPrecision(digits));
    if (Math.fround(y) === x) return y;
  }
  return x;
}
