/**
 * `plas eval retrieval`: needle-in-a-haystack accuracy at several context lengths, for dense attention, PLAS with
 * mean pooling, PLAS with the model's learned gate, PLAS with key-bound block scores (Quest's; PlasConfig
 * encoderBlockScore / decoderBlockScore) and with the learned gate on key bounds ('bound-gate'), with the share of KV
 * blocks each attended.
 *
 * Every mode sees exactly the same prompts (same seed per length), so the comparison is paired. PLAS top-k ranges
 * scale with the context: at length L with blocks of B tokens (n = ceil(L / B) blocks), left = ceil(fLeft x n) and
 * right = max(left, ceil(fRight x n)), for prefill and decode alike; the dense limits follow left x B.
 */
import { Engine } from '../../../engine/engine.ts';
import type { EngineConfigInput, GateMode } from '../../../engine/engine-config.ts';
import { SamplingRng } from '../../../engine/generation/rng.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { BlockScore, PlasConfig } from '../../../engine/plas/config.ts';
import { ANSWER_ROOM, factsDocument, Haystack, isCorrect, type NeedleDocument, passKeyDocument } from './needle.ts';

export type RetrievalMode = 'dense' | 'plas-mean' | 'plas-gate' | 'plas-bound' | 'plas-bound-gate';
export const RETRIEVAL_MODES: readonly RetrievalMode[] = [
  'dense',
  'plas-mean',
  'plas-gate',
  'plas-bound',
  'plas-bound-gate',
];

/** Each PLAS mode's block scores, prefill and decode alike. */
const MODE_SCORE: Record<Exclude<RetrievalMode, 'dense'>, BlockScore> = {
  'plas-mean': 'gate', // with the gate not loaded: mean pooling
  'plas-gate': 'gate',
  'plas-bound': 'bound',
  'plas-bound-gate': 'bound-gate',
};

export interface RetrievalOptions {
  lengths: number[];
  samples: number;
  depths: number[];
  modes: RetrievalMode[];
  task: 'passkey' | 'facts';
  /** [fLeft, fRight]: top-k as fractions of the blocks at each length. */
  topK: [number, number];
  /** Explicit PLAS settings, over the scaled ranges (e.g. denseLastLayer, iterations). */
  plas: Partial<PlasConfig>;
  seed: number;
  /** Text the needles hide in. */
  filler: string;
  /** Pages and blocks; default: the model's gate block size, else 64. */
  blockSize?: number;
}

export interface RetrievalRow {
  length: number;
  mode: RetrievalMode;
  /** Prompt tokens, mean over samples. */
  promptTokens: number;
  correct: number;
  samples: number;
  accuracy: number;
  /** Per depth: [depth, correct, samples]. */
  byDepth: [number, number, number][];
  /** Each document in order, 1 found and 0 missed: compared prompt by prompt with plas_sim.py's per_probe. */
  perSample: string;
  /** Blocks attended / causal candidate blocks, over every layer, prefill and decode (1 when dense). */
  density: number;
  /** The same over the layers PLAS makes sparse (all but the last when denseLastLayer). */
  sparseLayerDensity: number;
  /** The sparse layers' density in prefill alone and in decode steps alone (their top-k ranges differ). */
  prefillDensity: number;
  decodeDensity: number;
  /** The PLAS ranges and dense limits in force at this length, scaled or set by `plas` (null for dense). */
  topK: { encoder: TopkInForce; decoder: TopkInForce } | null;
  gate: string;
  seconds: number;
}

export interface TopkInForce {
  left: number;
  right: number;
  /** Queries that see fewer tokens than this attend densely. */
  limit: number;
}

function inForce(c: PlasConfig, side: 'encoder' | 'decoder'): TopkInForce {
  return {
    left: c[`plas_${side}_top_k_left`],
    right: c[`plas_${side}_top_k_right`],
    limit: c[`plas_use_${side}_seq_limit`],
  };
}

/** The scaled ranges at one length. */
export function scaledTopK(length: number, blockSize: number, f: [number, number]) {
  const blocks = Math.ceil(length / blockSize);
  const left = Math.max(1, Math.ceil(f[0] * blocks));
  const right = Math.max(left, Math.ceil(f[1] * blocks));
  return { left, right, limit: left * blockSize };
}

/** The documents of one length, the same for every mode (and for tools/train/probes.ts, which hands them to the
 * PyTorch simulation). */
export function retrievalDocuments(
  tok: LoadedModel['tokenizer'],
  o: Pick<RetrievalOptions, 'samples' | 'depths' | 'task' | 'seed' | 'filler'>,
  length: number,
): NeedleDocument[] {
  const count = (t: string) => tok.encode(t, { addSpecialTokens: false }).length;
  const haystack = new Haystack(o.filler, count);
  const rng = new SamplingRng(o.seed * 1_000_003 + length);
  const names = ['apple', 'river', 'lantern', 'garden', 'window', 'mountain', 'harbor', 'violin', 'desert', 'castle'];
  const tokens = length - ANSWER_ROOM;
  return Array.from({ length: o.samples }, (_, i) => {
    const depth = o.depths[i % o.depths.length];
    return o.task === 'passkey'
      ? passKeyDocument(haystack, count, rng, { tokens, depth })
      : factsDocument(haystack, count, rng, { tokens, depth, names, facts: 4 });
  });
}

/** Requests in flight at once: continuous batching keeps the GPU busy between prefill and decode. */
const MAX_SEQS = 4;

async function runMode(
  gpu: Gpu,
  model: LoadedModel,
  mode: RetrievalMode,
  docs: NeedleDocument[],
  o: RetrievalOptions,
  length: number,
  blockSize: number,
): Promise<RetrievalRow> {
  const started = performance.now();
  const pageSize = Math.min(64, blockSize);
  const k = scaledTopK(length, blockSize, o.topK);
  const plas: Partial<PlasConfig> = {
    plas_block_size: blockSize,
    plas_encoder_top_k_left: k.left,
    plas_encoder_top_k_right: k.right,
    plas_decoder_top_k_left: k.left,
    plas_decoder_top_k_right: k.right,
    // Each mode's block scores, over a model's own plas_config.json (PLAS Mini's decodes with its key-bound gate).
    ...(mode === 'dense' ? {} : { encoderBlockScore: MODE_SCORE[mode], decoderBlockScore: MODE_SCORE[mode] }),
    ...o.plas,
  };
  const input: EngineConfigInput = {
    // Pages for MAX_SEQS whole documents and their answers, and no more.
    cache: { pageSize, numPages: MAX_SEQS * Math.ceil((length + 32) / pageSize) },
    scheduler: { maxNumSeqs: MAX_SEQS, maxNumBatchedTokens: 2048 },
    attention: {
      backend: mode === 'dense' ? 'dense' : 'plas',
      plas,
      statsSampleEvery: 1,
      gate: (mode === 'plas-mean' ? 'mean' : 'learned') satisfies GateMode,
    },
  };
  const engine = await Engine.create(gpu, model, input);
  try {
    const tok = model.tokenizer;
    const depthStats = new Map<number, [number, number]>();
    let correct = 0;
    let promptTokens = 0;
    let perSample = '';
    const results = await Promise.all(
      docs.map(async (doc, i) => {
        const ids = tok.encode(doc.prompt, { addSpecialTokens: false });
        let text = '';
        const events = engine.generate({
          id: `sample-${i}`,
          promptTokenIds: ids,
          sampling: samplingParams({ temperature: 0, maxTokens: doc.answer.length + 4 }),
        });
        for await (const e of events) if (e.type === 'token') text += e.text;
        return { doc, ids, text };
      }),
    );
    for (const { doc, ids, text } of results) {
      const ok = isCorrect(text, doc.answer);
      promptTokens += ids.length;
      if (ok) correct++;
      perSample += ok ? '1' : '0';
      const d = depthStats.get(doc.depth) ?? [0, 0];
      d[0] += ok ? 1 : 0;
      d[1]++;
      depthStats.set(doc.depth, d);
    }
    const stats = await engine.settledStats();
    const all = { candidates: 0, selected: 0 };
    const sparse = { candidates: 0, selected: 0, decodeCandidates: 0, decodeSelected: 0 };
    const last = model.dims.numLayers - 1;
    const denseLast = engine.plasConfig.denseLastLayer;
    for (const [layer, s] of stats.attention.layers) {
      all.candidates += s.candidateBlocks;
      all.selected += s.selectedBlocks;
      if (denseLast && layer === last) continue;
      sparse.candidates += s.candidateBlocks;
      sparse.selected += s.selectedBlocks;
      sparse.decodeCandidates += s.decodeCandidateBlocks;
      sparse.decodeSelected += s.decodeSelectedBlocks;
    }
    const share = (selected: number, candidates: number) =>
      mode === 'dense' || !candidates ? 1 : selected / candidates;
    return {
      length,
      mode,
      promptTokens: promptTokens / docs.length,
      correct,
      samples: docs.length,
      accuracy: correct / docs.length,
      byDepth: [...depthStats].sort(([a], [b]) => a - b).map(([depth, [c, n]]) => [depth, c, n]),
      perSample,
      density: share(all.selected, all.candidates),
      sparseLayerDensity: share(sparse.selected, sparse.candidates),
      prefillDensity: share(sparse.selected - sparse.decodeSelected, sparse.candidates - sparse.decodeCandidates),
      decodeDensity: share(sparse.decodeSelected, sparse.decodeCandidates),
      topK:
        mode === 'dense'
          ? null
          : { encoder: inForce(engine.plasConfig, 'encoder'), decoder: inForce(engine.plasConfig, 'decoder') },
      gate: mode === 'dense' ? 'none (dense attention)' : stats.attention.gate,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await engine.close();
  }
}

export async function evalRetrieval(
  gpu: Gpu,
  model: LoadedModel,
  o: RetrievalOptions,
  blockSize: number,
  onRow: (row: RetrievalRow) => void = () => {},
): Promise<RetrievalRow[]> {
  const rows: RetrievalRow[] = [];
  for (const length of o.lengths) {
    if (length > model.config.maxPositionEmbeddings) {
      throw new RangeError(`length ${length} exceeds the model's context (${model.config.maxPositionEmbeddings})`);
    }
    const docs = retrievalDocuments(model.tokenizer, o, length);
    for (const mode of o.modes) {
      const row = await runMode(gpu, model, mode, docs, o, length, blockSize);
      rows.push(row);
      onRow(row);
    }
  }
  return rows;
}

export function retrievalTableHeader(): string {
  return (
    ' length  tokens  mode       accuracy   correct  density  sparse layers  (prefill, decode)' +
    '  top-k prefill / decode   seconds'
  );
}

export function retrievalTableRow(r: RetrievalRow): string {
  // A limit at or past the length makes that side dense for every query of the row.
  const range = (t: TopkInForce) =>
    t.limit >= r.length ? 'dense' : t.left === t.right ? `${t.left}` : `${t.left}-${t.right}`;
  const k = r.topK ? `${range(r.topK.encoder)} / ${range(r.topK.decoder)}` : '-';
  return (
    `${String(r.length).padStart(7)} ${r.promptTokens.toFixed(0).padStart(7)}  ${r.mode.padEnd(10)} ` +
    `${(100 * r.accuracy).toFixed(1).padStart(7)}%  ${`${r.correct}/${r.samples}`.padStart(8)}  ` +
    `${r.density.toFixed(3).padStart(7)}  ${r.sparseLayerDensity.toFixed(3).padStart(13)}  ` +
    `${`(${r.prefillDensity.toFixed(3)}, ${r.decodeDensity.toFixed(3)})`.padStart(17)}  ${k.padStart(22)}  ` +
    `${r.seconds.toFixed(0).padStart(8)}`
  );
}
