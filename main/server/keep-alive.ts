/**
 * Keep-alive durations as Ollama takes them: a number of seconds, or a Go-style duration ("30m", "1h30m", "500ms",
 * "10s"); any negative value keeps the model loaded for good (-1 ms here), 0 unloads it after its last request.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export const DEFAULT_KEEP_ALIVE_MS = 30 * 60_000;

export function parseKeepAlive(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`keep-alive (${value}) must be a finite number of seconds`);
    return value < 0 ? -1 : Math.round(value * 1000);
  }
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return parseKeepAlive(Number(text));
  const m = /^(-)?((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$/.exec(text);
  if (!m) {
    throw new RangeError(
      `keep-alive ${JSON.stringify(value)} is not a duration: use seconds (300), or units like 30m, 1h30m, 500ms; -1 keeps the model loaded`,
    );
  }
  if (m[1]) return -1;
  let ms = 0;
  for (const part of m[2].matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(part[1]) * UNITS[part[2]];
  return Math.round(ms);
}
