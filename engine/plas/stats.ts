/**
 * PLAS statistics, per layer and per request: candidate blocks (those the queries could see; under a sliding window
 * only the blocks that intersect a query's window, plan.ts candidateBlocks), selected blocks (those attention visits:
 * the union lists, every candidate of a dense unit), density = selected / candidates, in all and for prefill and
 * decode apart (they run under separate top-k ranges and limits, so one number would hide either); and the recall of
 * the approximate top-k against the exact top-k of the same scores. Counts come back from the GPU with the step's own
 * submit (no extra one), only on sampled steps (one in `sampleEvery`), because each readback adds a copy and a map to
 * the step.
 *
 * Recall of a row (query, head): k = min(left, candidates); the share of the k best-scoring blocks that the row's own
 * selection kept. A threshold selection keeps exactly the blocks scoring >= mid, so it is a true top-c set: recall < 1
 * means the search stopped with c < k (it undershot left), never that it kept a worse block over a better one.
 */
import type { Step } from '../gpu/step.ts';

export interface BlockCounts {
  /**
   * Sum over sampled units and kv heads of the blocks their queries could see (plan.unitBlocks: 0 ..= the last
   * query's block, or from the first query's window on under a sliding window).
   */
  candidateBlocks: number;
  /** Sum of the blocks attention visited (dense units count all their candidates). */
  selectedBlocks: number;
  /** Sampled (unit, kv head) lists. */
  lists: number;
  /** The part of candidateBlocks and selectedBlocks from decode steps (units of one new token). */
  decodeCandidateBlocks: number;
  decodeSelectedBlocks: number;
  /** Recall numerator and denominator (rows with a selection only). */
  recallHits: number;
  recallTotal: number;
}

export interface BlockSummary extends BlockCounts {
  /** selected / candidates (1 when everything was dense). */
  density: number;
  /** The same over prefill units alone, and over decode units alone; null when none was sampled. */
  prefillDensity: number | null;
  decodeDensity: number | null;
  /** recallHits / recallTotal, or null before a sparse row was sampled. */
  recall: number | null;
}

function empty(): BlockCounts {
  return {
    candidateBlocks: 0,
    selectedBlocks: 0,
    lists: 0,
    decodeCandidateBlocks: 0,
    decodeSelectedBlocks: 0,
    recallHits: 0,
    recallTotal: 0,
  };
}

function summary(c: BlockCounts): BlockSummary {
  const prefillCandidates = c.candidateBlocks - c.decodeCandidateBlocks;
  return {
    ...c,
    density: c.candidateBlocks ? c.selectedBlocks / c.candidateBlocks : 1,
    prefillDensity: prefillCandidates ? (c.selectedBlocks - c.decodeSelectedBlocks) / prefillCandidates : null,
    decodeDensity: c.decodeCandidateBlocks ? c.decodeSelectedBlocks / c.decodeCandidateBlocks : null,
    recall: c.recallTotal ? c.recallHits / c.recallTotal : null,
  };
}

/** A finished request's summary with its per-layer part (index = layer; layers never sampled are absent). */
export interface RequestSummary extends BlockSummary {
  layers: Map<number, BlockSummary>;
}

/** Requests already taken: records that arrive after (a last step's readback) must not re-create their entries. */
const TAKEN_MEMORY = 1024;

export interface PlasStatsOptions {
  /** Sample one step in this many (default 16; 1 = every step). */
  sampleEvery?: number;
  /** Also gather some rows' scores and measure recall on sampled steps (default false: it costs copies and reads). */
  recall?: boolean;
}

export class PlasStats {
  readonly sampleEvery: number;
  readonly recall: boolean;
  private steps = 0;
  private readonly decided = new WeakMap<Step, boolean>();
  private readonly perLayer = new Map<number, BlockCounts>();
  private readonly perRequest = new Map<string, BlockCounts>();
  /** Per (request, layer): the Tuning page's per-layer density of each request. */
  private readonly perRequestLayer = new Map<string, Map<number, BlockCounts>>();
  private readonly taken = new Set<string>();
  private readonly pending = new Set<Promise<void>>();

  constructor(o: PlasStatsOptions = {}) {
    this.sampleEvery = o.sampleEvery ?? 16;
    if (!Number.isInteger(this.sampleEvery) || this.sampleEvery < 1) {
      throw new RangeError(`sampleEvery (${o.sampleEvery}) must be a positive integer`);
    }
    this.recall = o.recall ?? false;
  }

  /**
   * Whether `step` is sampled: decided at its first layer, the same for every later layer of the step. `always`
   * samples it whatever the count (steps with prefill).
   */
  samples(step: Step, always = false): boolean {
    let d = this.decided.get(step);
    if (d === undefined) {
      d = this.steps++ % this.sampleEvery === 0 || always;
      this.decided.set(step, d);
    }
    return d;
  }

  private add(layer: number, request: string, f: (c: BlockCounts) => void): void {
    const l = this.perLayer.get(layer) ?? empty();
    this.perLayer.set(layer, l);
    f(l);
    if (this.taken.has(request)) return;
    const r = this.perRequest.get(request) ?? empty();
    this.perRequest.set(request, r);
    f(r);
    const layers = this.perRequestLayer.get(request) ?? new Map<number, BlockCounts>();
    this.perRequestLayer.set(request, layers);
    const rl = layers.get(layer) ?? empty();
    layers.set(layer, rl);
    f(rl);
  }

  /** One (unit, kv head) list: `decode` when the unit is a decode step's one new token. */
  recordBlocks(layer: number, request: string, candidates: number, selected: number, decode = false): void {
    this.add(layer, request, (c) => {
      c.candidateBlocks += candidates;
      c.selectedBlocks += selected;
      c.lists++;
      if (decode) {
        c.decodeCandidateBlocks += candidates;
        c.decodeSelectedBlocks += selected;
      }
    });
  }

  recordRecall(layer: number, request: string, hits: number, total: number): void {
    this.add(layer, request, (c) => {
      c.recallHits += hits;
      c.recallTotal += total;
    });
  }

  layer(index: number): BlockSummary {
    return summary(this.perLayer.get(index) ?? empty());
  }

  request(id: string): BlockSummary {
    return summary(this.perRequest.get(id) ?? empty());
  }

  layers(): Map<number, BlockSummary> {
    return new Map([...this.perLayer].sort(([a], [b]) => a - b).map(([k, v]) => [k, summary(v)]));
  }

  requests(): Map<string, BlockSummary> {
    return new Map([...this.perRequest].map(([k, v]) => [k, summary(v)]));
  }

  /** @internal Work that records a sampled step once its readbacks arrive. */
  track(work: Promise<void>): void {
    this.pending.add(work);
    work.finally(() => this.pending.delete(work));
  }

  /** Resolves when every sampled step submitted so far has been recorded. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** A request's sampled counts per layer, by layer index. */
  requestLayers(id: string): Map<number, BlockSummary> {
    const layers = this.perRequestLayer.get(id) ?? new Map<number, BlockCounts>();
    return new Map([...layers].sort(([a], [b]) => a - b).map(([k, v]) => [k, summary(v)]));
  }

  /**
   * A finished request's summary and its per-layer part, forgotten here (it lives on in the request's done event).
   * Counts of its steps that arrive later still add to the per-layer totals, never to a new entry for it.
   */
  takeRequest(id: string): RequestSummary {
    const s = { ...this.request(id), layers: this.requestLayers(id) };
    this.perRequest.delete(id);
    this.perRequestLayer.delete(id);
    this.taken.add(id);
    if (this.taken.size > TAKEN_MEMORY) this.taken.delete(this.taken.values().next().value as string);
    return s;
  }
}
