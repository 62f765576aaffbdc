/** KV cache flags shared by `generate` and `bench serve`: the pool's element type and sizes, validated as parsed. */
import { InvalidArgumentError } from 'commander';
import { KV_DTYPES, type KvDType } from '../../../engine/kv/paged-layout.ts';

export const KV_DTYPE_HELP = `KV cache element type: ${KV_DTYPES.join(' or ')} (f16 halves its memory and reads)`;

export function kvCacheDtype(value: string): KvDType {
  if (!(KV_DTYPES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected ${KV_DTYPES.join(' or ')}, got "${value}"`);
  }
  return value as KvDType;
}

/** MiB as a positive number (fractions allowed: 0.5 is 512 KiB), at most 1 TiB. */
export function mebibytes(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 2 ** 20) {
    throw new InvalidArgumentError(`expected a size in MiB > 0 (and at most 1048576), got "${value}"`);
  }
  return n;
}

/** A whole number of tokens >= 1. */
export function tokenCount(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of tokens >= 1, got "${value}"`);
  }
  return n;
}
