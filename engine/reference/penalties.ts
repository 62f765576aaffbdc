/** TypeScript twin of shaders/apply_penalties.wgsl (see its header for the definition). logits: [B, V], in place. */
export interface PenaltyEntry {
  row: number;
  token: number;
  /** Times the token appears in the generated output (0 when only in the prompt). */
  outputCount: number;
}

export interface RowPenalties {
  repetition: number;
  presence: number;
  frequency: number;
}

export function applyPenalties(
  logits: Float32Array,
  vocab: number,
  entries: PenaltyEntry[],
  rows: RowPenalties[],
): void {
  for (const e of entries) {
    if (e.row >= rows.length || e.token >= vocab) continue;
    const r = rows[e.row];
    const i = e.row * vocab + e.token;
    let logit = logits[i];
    logit = logit > 0 ? logit / r.repetition : logit * r.repetition;
    logit -= r.presence * (e.outputCount > 0 ? 1 : 0) + r.frequency * e.outputCount;
    logits[i] = Math.fround(logit);
  }
}

/** The entries for one sequence: every distinct token of prompt and output, with its count in the output. */
export function penaltyEntries(row: number, prompt: readonly number[], output: readonly number[]): PenaltyEntry[] {
  const counts = new Map<number, number>();
  for (const t of prompt) if (!counts.has(t)) counts.set(t, 0);
  for (const t of output) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([token, outputCount]) => ({ row, token, outputCount }));
}
