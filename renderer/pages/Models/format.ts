/** How the Models page writes sizes and counts. */
export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(n < 100 * 2 ** 20 ? 1 : 0)} MB`;
  return `${(n / 2 ** 10).toFixed(0)} KB`;
}

export function parameters(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${(n / 1e6).toFixed(1)}M`;
}

/** "learned gate on layers 0-3" -> "Learned gate"; mean pooling and PLAS off said as such. */
export function gateKind(gate: string): string {
  if (gate.startsWith('not loaded')) return 'None (PLAS is off)';
  if (gate.startsWith('learned gate') && gate.includes('mean pooling')) return 'Learned gate (some layers)';
  if (gate.startsWith('learned gate')) return 'Learned gate';
  return 'Mean pooling';
}
