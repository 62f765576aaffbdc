/**
 * Works around XGrammar 0.1.27's integer ranges, which are off at some digit boundaries: measured, {minimum: 0,
 * maximum: 150} accepts 151-159, {minimum: -120, maximum: -7} accepts -129..-121, {minimum: 7} accepts 1-6. An
 * integer with both bounds and at most MAX_ENUM values becomes the enum of its values, which XGrammar matches
 * exactly. One-sided bounds stay as XGrammar compiles them (then near the bound a few values can slip through).
 */

const MAX_ENUM = 1000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `schema` with each small bounded integer range made an enum (a new value; the input is not changed). */
export function exactIntegerRanges(schema: unknown): unknown {
  return rewrite(schema as Json);
}

function rewrite(s: Json): Json {
  if (Array.isArray(s)) return s.map(rewrite);
  if (typeof s !== 'object' || s === null) return s;
  const out: { [key: string]: Json } = {};
  // Values of enum, const, default and examples are data, not schemas: copied as they are.
  for (const [k, v] of Object.entries(s))
    out[k] = k === 'enum' || k === 'const' || k === 'default' || k === 'examples' ? v : rewrite(v);
  const range = integerRange(out);
  if (!range) return out;
  const [lo, hi] = range;
  for (const k of ['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) delete out[k];
  out.enum = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  return out;
}

/** [lo, hi] (inclusive) of an integer schema with both bounds and a small range; null otherwise. */
function integerRange(s: { [key: string]: Json }): [number, number] | null {
  if (s.type !== 'integer' || 'enum' in s || 'const' in s) return null;
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  const lows = [num('minimum'), num('exclusiveMinimum') === undefined ? undefined : num('exclusiveMinimum')! + 1];
  const highs = [num('maximum'), num('exclusiveMaximum') === undefined ? undefined : num('exclusiveMaximum')! - 1];
  const lo = Math.max(...lows.filter((x) => x !== undefined).map(Math.ceil));
  const hi = Math.min(...highs.filter((x) => x !== undefined).map(Math.floor));
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo || hi - lo + 1 > MAX_ENUM) return null;
  return [lo, hi];
}
