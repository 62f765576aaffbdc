/**
 * The CPU side of one PLAS step: from the batch's sequences (paged-layout.ts) and the config, the work lists the PLAS
 * kernels take. Built once per step (and per "all dense" variant for the last layer), shared by every layer.
 *
 * Units are what attention visits a block list for: a tile of up to `unionTokens` consecutive new tokens of a
 * prefilling sequence (the prefill token union; by default one prefill attention tile), or the one new token of a
 * decoding sequence. Each unit x kv head gets one sorted list of block ids (plas_union). A unit is dense when its last
 * query sees fewer tokens than the limit of its side (isDenseBelowLimit): the same rule decides selection and
 * attention, so they cannot disagree. A sequence with one new token is decoding (decoder top-k range and limit); with
 * more, it is prefilling (encoder).
 *
 * Sliding window (options.window = W > 0, every layer, as PagedBatch.window): a query at position q attends
 * q - W < j <= q only, so its candidate blocks are those that intersect [q - W + 1, q]: first .. own with
 * first = floor((q + 1 - W) / blockSize) when q + 1 > W (else 0), clamped to own, own = floor(q / blockSize). That is
 * the rule of plas_select_topk.wgsl (fb .. nb - 1) and of its twin (engine/reference/plas-select-topk.ts): selection
 * never keeps a block outside it, so the statistics count the same candidates (firstCandidateBlock, candidateBlocks).
 */
import type { BatchSequence } from '../kv/paged-layout.ts';
import { type BlockScore, isDenseBelowLimit, type PlasConfig } from './config.ts';

/** Columns of a unit: (seq, firstQuery, count, dense). Work items elsewhere are u32 [items, 4] too. */
export const UNIT_COLUMNS = 4;

export interface PlasPlanOptions {
  pageSize: number;
  heads: number;
  kvHeads: number;
  /**
   * Tokens of a prefill union tile. Default: the queries of one prefill attention tile (prefillRows / group), so each
   * tile visits only the blocks its own queries chose. The original unions 128 tokens, which visits, for every tile,
   * the blocks chosen by up to 128 / tile-tokens other tiles too.
   */
  unionTokens?: number;
  /** Sliding window in positions, as PagedBatch.window (0 or absent: none). */
  window?: number;
  /** Every unit dense (the last layer when config.denseLastLayer). */
  allDense?: boolean;
  /** The plan is for the last layer: sequences whose config has denseLastLayer are dense there. */
  lastLayer?: boolean;
  /**
   * Per sequence of `seqs`: the PLAS config of its request (ranges and limits; block size, iterations and topkSearch
   * are the step's), or null for a request that runs dense. Absent: every sequence uses the step's config.
   */
  seqConfigs?: readonly (PlasConfig | null)[];
  /** Folded rows (query x head of a GQA group) per prefill attention item: the prefill kernel's BQ. Default 32. */
  prefillRows?: number;
}

/** Score/select items of one side: runs of consecutive sparse queries, with the top-k range of that side. */
export interface ScoreGroup {
  side: 'encoder' | 'decoder';
  left: number;
  right: number;
  /** How its rows score blocks (the side's BlockScore of their config). */
  score: BlockScore;
  /** u32 [I, 4]: (seq, firstQuery, count, 0). */
  items: Uint32Array;
  /** Largest count of an item. */
  maxItemTokens: number;
}

export interface PlasPlan {
  blockSize: number;
  /**
   * Block ids of the longest row of the step: ceil(max kvLength / blockSize). Ids are absolute positions / blockSize,
   * so a window does not shrink this (it only moves a row's first candidate).
   */
  maxBlocks: number;
  /** ceil(maxBlocks / 32): u32 words of a selection row. */
  words: number;
  /** u32 [touched pages, 4]: (page, firstSlot, count, blockOffset of slot 0) for plas_key_sums. */
  keySumItems: Uint32Array;
  /** u32 [U, 4]: (seq, firstQuery, count, dense 0/1). */
  units: Uint32Array;
  /**
   * Per unit: its candidate blocks, the union of its queries' candidates: first block of its first query's window
   * .. its last query's own block (0 .. own without a window). The statistics' denominator: the union list of a
   * sparse unit lies inside it, so density <= 1.
   */
  unitBlocks: number[];
  /**
   * Per unit: blocks 0 ..= its last query's own block, the length of a dense unit's list (plas_union.wgsl lists every
   * block from 0 and the attention kernels skip the ones before the window). Equal to unitBlocks without a window.
   */
  unitListBlocks: number[];
  /** Per unit: the decoder top-k right of its sequence's config (sizes the decode splits). */
  unitRight: number[];
  /** Units of prefilling sequences: u32 [P, 4] = (unit, firstFoldedRow, 0, 0), one per tile of prefillRows rows. */
  prefillItems: Uint32Array;
  /** Units of decoding sequences (one new token), for the split-K decode kernel. */
  decodeUnits: number[];
  scoreGroups: ScoreGroup[];
  /** True when no unit needs a selection (every one is dense). */
  allDense: boolean;
}

/** Folded rows per score/select item: two 32-row tiles of plas_block_scores per workgroup, enough rows to select. */
const SCORE_ROWS = 64;

/**
 * First candidate block of a query at `position`: the block of the first position it sees, position + 1 - window,
 * under a window (clamped to its own block, as the kernel's min(.., nb - 1)), else 0.
 */
export function firstCandidateBlock(position: number, blockSize: number, window = 0): number {
  if (!window || position + 1 <= window) return 0;
  return Math.min(Math.floor((position + 1 - window) / blockSize), Math.floor(position / blockSize));
}

/** Candidate blocks of a query at `position`: those intersecting [position - window + 1, position] (all before it). */
export function candidateBlocks(position: number, blockSize: number, window = 0): number {
  return Math.floor(position / blockSize) + 1 - firstCandidateBlock(position, blockSize, window);
}

/**
 * Tokens a query at `position` sees: position + 1, at most the window. What the dense limits compare: a windowed
 * query attends at most W keys however long the sequence, so below the limit it is dense whatever its position (the
 * limit says how many keys make selection pay; a window already bounds the work, and sparsity cannot help below it).
 */
export function visibleSpan(position: number, window = 0): number {
  return window ? Math.min(position + 1, window) : position + 1;
}

export function keySumItems(seqs: readonly BatchSequence[], pageSize: number, blockSize: number): Uint32Array {
  const items: number[] = [];
  for (const s of seqs) {
    const start = s.kvLength - s.numQueries;
    for (let j = Math.floor(start / pageSize); j * pageSize < s.kvLength && s.numQueries > 0; j++) {
      const page = s.blockTable[j];
      if (page === undefined) throw new Error(`block table too short for page ${j} (kvLength ${s.kvLength})`);
      const first = Math.max(start, j * pageSize);
      const end = Math.min(s.kvLength, (j + 1) * pageSize);
      items.push(page, first - j * pageSize, end - first, (j * pageSize) % blockSize);
    }
  }
  return Uint32Array.from(items);
}

export function buildPlasPlan(seqs: readonly BatchSequence[], config: PlasConfig, o: PlasPlanOptions): PlasPlan {
  const blockSize = config.plas_block_size;
  const group = o.heads / o.kvHeads;
  const prefillRows = o.prefillRows ?? 32;
  const unionTokens = o.unionTokens ?? Math.max(1, Math.floor(prefillRows / group));
  const units: number[] = [];
  const unitBlocks: number[] = [];
  const unitListBlocks: number[] = [];
  const window = o.window ?? 0;
  const unitRight: number[] = [];
  const prefill: number[] = [];
  const decode: number[] = [];
  // Score items grouped by side, top-k range and block score: requests with their own select in their own group.
  const groups = new Map<
    string,
    { side: ScoreGroup['side']; left: number; right: number; score: BlockScore; items: number[]; max: number }
  >();
  const itemTokens = { encoder: Math.max(1, Math.floor(SCORE_ROWS / group)), decoder: 1 };
  let maxKv = 1;
  seqs.forEach((s, seq) => {
    if (s.numQueries === 0) return;
    maxKv = Math.max(maxKv, s.kvLength);
    const own = o.seqConfigs ? o.seqConfigs[seq] : config;
    const c = own ?? config;
    const seqDense = own === null || o.allDense === true || (o.lastLayer === true && c.denseLastLayer);
    const side = s.numQueries === 1 ? 'decoder' : 'encoder';
    const limit = side === 'decoder' ? c.plas_use_decoder_seq_limit : c.plas_use_encoder_seq_limit;
    const left = c[`plas_${side}_top_k_left`];
    const right = c[`plas_${side}_top_k_right`];
    const score = c[`${side}BlockScore`];
    const first = s.kvLength - s.numQueries; // position of new token 0
    for (let q0 = 0; q0 < s.numQueries; q0 += unionTokens) {
      const count = Math.min(unionTokens, s.numQueries - q0);
      const last = first + q0 + count - 1; // position of the unit's last query
      // The last query sees the most keys of the unit (its span never shrinks with position), so it decides.
      const dense = seqDense || isDenseBelowLimit(visibleSpan(last, window), limit);
      const unit = units.length / UNIT_COLUMNS;
      units.push(seq, q0, count, dense ? 1 : 0);
      const own = Math.floor(last / blockSize);
      unitBlocks.push(own + 1 - firstCandidateBlock(first + q0, blockSize, window));
      unitListBlocks.push(own + 1);
      unitRight.push(c.plas_decoder_top_k_right);
      if (side === 'decoder') decode.push(unit);
      else for (let r = 0; r < count * group; r += prefillRows) prefill.push(unit, r, 0, 0);
      if (dense) continue;
      const key = `${side}:${left}:${right}:${score}`;
      const g = groups.get(key) ?? { side, left, right, score, items: [], max: 0 };
      groups.set(key, g);
      for (let i = 0; i < count; i += itemTokens[side]) {
        const n = Math.min(itemTokens[side], count - i);
        g.items.push(seq, q0 + i, n, 0);
        g.max = Math.max(g.max, n);
      }
    }
  });
  const maxBlocks = Math.ceil(maxKv / blockSize);
  const order = { encoder: 0, decoder: 1 };
  const scoreGroups: ScoreGroup[] = [...groups.values()]
    .sort((a, b) => order[a.side] - order[b.side])
    .map((g) => ({
      side: g.side,
      left: g.left,
      right: g.right,
      score: g.score,
      items: Uint32Array.from(g.items),
      maxItemTokens: g.max,
    }));
  return {
    blockSize,
    maxBlocks,
    words: Math.ceil(maxBlocks / 32),
    keySumItems: keySumItems(seqs, o.pageSize, blockSize),
    units: Uint32Array.from(units),
    unitBlocks,
    unitListBlocks,
    unitRight,
    prefillItems: Uint32Array.from(prefill),
    decodeUnits: decode,
    scoreGroups,
    allDense: scoreGroups.length === 0,
  };
}

export interface DecodeSplitOptions {
  /** Keys per tile of the decode kernel; splits are sized in tiles. */
  tile: number;
  kvHeads: number;
  headBlocks: number;
  /** Decoder top-k right: a sparse unit is expected to visit about 2 x (right + 3) blocks (its group's union). */
  right: number;
  /** Force this many tiles per split (tests, benchmarks). */
  tilesPerSplit?: number;
}

/** Decode: aim for this many split workgroups over the batch, each of >= 2 tiles (as the dense paged decode does). */
const DECODE_TARGET_WORKGROUPS = 256;
const DECODE_MIN_TILES_PER_SPLIT = 2;

/**
 * The split-K work of the decode units: items u32 [splits, 4] = (unit, split, numSplits, 0) and, for
 * paged_attention_merge.wgsl, merges u32 [units, 4] = (seq, firstSplit, numSplits, 0). The listed block count is only
 * known on the GPU, so the splits are sized from an estimate and the kernel cuts the real list evenly into numSplits.
 */
export function decodeSplits(plan: PlasPlan, o: DecodeSplitOptions): { items: Uint32Array; merges: Uint32Array } {
  const expectedTiles = plan.decodeUnits.map((u) => {
    const right = plan.unitRight[u] ?? o.right;
    // A dense unit's list holds every block from 0 (the kernel cuts that list, window or not); a sparse one's lies
    // within its candidates.
    const blocks = plan.units[u * UNIT_COLUMNS + 3]
      ? plan.unitListBlocks[u]
      : Math.min(plan.unitBlocks[u], 2 * (right + 3));
    return Math.ceil((blocks * plan.blockSize) / o.tile);
  });
  const totalTiles = expectedTiles.reduce((a, b) => a + b, 0);
  const targetSplits = Math.ceil(DECODE_TARGET_WORKGROUPS / (o.kvHeads * o.headBlocks));
  const perSplit = o.tilesPerSplit ?? Math.max(DECODE_MIN_TILES_PER_SPLIT, Math.ceil(totalTiles / targetSplits));
  const items: number[] = [];
  const merges: number[] = [];
  plan.decodeUnits.forEach((u, i) => {
    const splits = Math.max(1, Math.ceil(expectedTiles[i] / perSplit));
    merges.push(plan.units[u * UNIT_COLUMNS], items.length / 4, splits, 0);
    for (let s = 0; s < splits; s++) items.push(u, s, splits, 0);
  });
  return { items: Uint32Array.from(items), merges: Uint32Array.from(merges) };
}
