/**
 * `plas bench quant-model`: decode and prefill speed of a quantized GGUF model of a real model's shape (Qwen3-0.6B's by
 * default) against its F16 twin, on the same machine, through the Engine. The models are synthetic (random valid
 * blocks, engine/gguf/synthetic-model.ts), written once into a cache folder and reused. Every model is loaded (through
 * Engine.load, so its memory is checked first) and warmed up with one short request (pipelines compiled); then each
 * runs greedy requests of `promptTokens` prompt tokens and `decodeTokens` output tokens, the models in turns,
 * `repeats` times. Prefill tok/s is the prompt over the median time to the first token; decode tok/s is one over the
 * median of the runs' mean time between the later tokens.
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine, type EngineEvent } from '../../../engine/engine.ts';
import { samplingParams } from '../../../engine/generation/sampling-params.ts';
import {
  type SyntheticMix,
  type SyntheticShape,
  syntheticTensorBytes,
  writeSyntheticGguf,
} from '../../../engine/gguf/synthetic-model.ts';
import type { Gpu } from '../../../engine/gpu/gpu.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { benchPrompt } from './serve-bench.ts';

/** Bumped when the generator changes, so cached files of an older generator are not reused. */
const GENERATOR_VERSION = 1;

export interface QuantModelBenchOptions {
  shape: SyntheticShape;
  mixes: SyntheticMix[];
  promptTokens: number;
  decodeTokens: number;
  cacheDir: string;
  kvDtype: KvDType;
  seed: number;
  /** Measured requests per model, taken in turns; medians reported. */
  repeats: number;
}

export interface QuantModelBenchRow {
  mix: SyntheticMix;
  path: string;
  fileBytes: number;
  weightBytes: number;
  loadMs: number;
  promptTokens: number;
  decodeTokens: number;
  /** Measured requests (medians below). */
  runs: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  decodeMsPerToken: number;
  decodeTokensPerSecond: number;
  /** Each run's mean time per decoded token, to show the spread. */
  decodeMsPerTokenRuns: number[];
}

export type BenchProgress = (line: string) => void;

const MiB = 2 ** 20;

function fileName(shape: SyntheticShape, mix: SyntheticMix, seed: number): string {
  const s = shape;
  return (
    `synthetic-${s.architecture}-h${s.hidden}-l${s.layers}-q${s.heads}-kv${s.kvHeads}-d${s.headDim}-i${s.intermediate}` +
    `-v${s.vocab}${s.tiedEmbeddings ? '-tied' : ''}-${mix}-s${seed}-g${GENERATOR_VERSION}.gguf`
  );
}

/** The cached model file, written first when missing (to a temporary name, renamed when complete). */
export async function syntheticModelFile(
  options: Pick<QuantModelBenchOptions, 'shape' | 'cacheDir' | 'seed'>,
  mix: SyntheticMix,
  progress: BenchProgress,
): Promise<string> {
  await mkdir(options.cacheDir, { recursive: true });
  const path = join(options.cacheDir, fileName(options.shape, mix, options.seed));
  if (await stat(path).catch(() => null)) return path;
  const partial = `${path}.partial-${process.pid}`;
  const total = syntheticTensorBytes(options.shape, mix);
  progress(`${mix}: writing ${(total / MiB).toFixed(0)} MiB to ${path}`);
  await writeSyntheticGguf(partial, {
    shape: options.shape,
    mix,
    seed: options.seed,
    onProgress: (done, all) => progress(`${mix}: writing ${((100 * done) / all).toFixed(0)}%`),
  });
  await rename(partial, path);
  return path;
}

async function timedRequest(
  engine: Engine,
  prompt: number[],
  maxTokens: number,
  onToken: (n: number) => void,
): Promise<Extract<EngineEvent, { type: 'done' }>> {
  let done: Extract<EngineEvent, { type: 'done' }> | undefined;
  let tokens = 0;
  const sampling = samplingParams({ temperature: 0, maxTokens, ignoreEos: true });
  for await (const e of engine.generate({ promptTokenIds: prompt, sampling })) {
    if (e.type === 'token') {
      tokens += e.ids.length;
      onToken(tokens);
    } else done = e;
  }
  return done!;
}

interface Loaded {
  mix: SyntheticMix;
  path: string;
  fileBytes: number;
  model: LoadedModel;
  engine: Engine;
  runs: Extract<EngineEvent, { type: 'done' }>[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Loads every model first, then measures them in turns (A, B, A, B, ...) `repeats` times and reports medians: on a
 * machine whose load changes (other processes share its cores), each model sees the same conditions.
 */
export async function benchQuantModel(
  gpu: Gpu,
  options: QuantModelBenchOptions,
  onRow: (row: QuantModelBenchRow) => void = () => {},
  progress: BenchProgress = () => {},
): Promise<QuantModelBenchRow[]> {
  const loaded: Loaded[] = [];
  try {
    for (const mix of options.mixes) {
      const path = await syntheticModelFile(options, mix, progress);
      const fileBytes = (await stat(path)).size;
      const contextTokens = options.promptTokens + options.decodeTokens + 8;
      const { model, engine } = await Engine.load(
        gpu,
        path,
        {
          maxModelLen: contextTokens,
          cache: { dtype: options.kvDtype, pageSize: 16 },
          attention: { allowPlas: false },
          scheduler: { maxNumSeqs: 1 },
        },
        (done, total) => progress(`${mix}: uploading ${((100 * done) / total).toFixed(0)}%`),
      );
      loaded.push({ mix, path, fileBytes, model, engine, runs: [] });
      progress(`${mix}: warming up`);
      await timedRequest(engine, benchPrompt(4, 0, 1), 2, () => {});
    }
    const prompt = benchPrompt(options.promptTokens, 1, 0);
    for (let r = 0; r < options.repeats; r++) {
      for (const l of loaded) {
        const done = await timedRequest(l.engine, prompt, options.decodeTokens + 1, (n) =>
          progress(
            `${l.mix} (run ${r + 1}/${options.repeats}): ${n === 1 ? 'prefilled' : `decoded ${n - 1}/${options.decodeTokens}`}`,
          ),
        );
        l.runs.push(done);
      }
    }
    const rows = loaded.map((l): QuantModelBenchRow => {
      const prefillMs = median(l.runs.map((d) => d.timings.timeToFirstTokenMs));
      const perToken = median(l.runs.map((d) => d.timings.timePerOutputTokenMs));
      return {
        mix: l.mix,
        path: l.path,
        fileBytes: l.fileBytes,
        weightBytes: l.model.weightBytes,
        loadMs: l.model.loadMs,
        promptTokens: options.promptTokens,
        decodeTokens: l.runs[0].usage.completionTokens - 1,
        runs: l.runs.length,
        prefillMs,
        prefillTokensPerSecond: options.promptTokens / (prefillMs / 1000),
        decodeMsPerToken: perToken,
        decodeTokensPerSecond: 1000 / perToken,
        decodeMsPerTokenRuns: l.runs.map((d) => d.timings.timePerOutputTokenMs),
      };
    });
    for (const row of rows) onRow(row);
    return rows;
  } finally {
    for (const l of loaded) {
      await l.engine.close();
      l.model.dispose();
    }
  }
}

export function quantModelTableHeader(): string {
  return `${'weights'.padEnd(8)}${'file MiB'.padStart(10)}${'GPU MiB'.padStart(9)}${'load s'.padStart(8)}${'prompt'.padStart(8)}${'prefill tok/s'.padStart(15)}${'decoded'.padStart(9)}${'ms/token'.padStart(10)}${'decode tok/s'.padStart(14)}  ms/token of each run`;
}

export function quantModelTableRow(r: QuantModelBenchRow): string {
  return (
    `${r.mix.toUpperCase().padEnd(8)}${(r.fileBytes / MiB).toFixed(0).padStart(10)}${(r.weightBytes / MiB).toFixed(0).padStart(9)}` +
    `${(r.loadMs / 1000).toFixed(1).padStart(8)}${String(r.promptTokens).padStart(8)}${r.prefillTokensPerSecond.toFixed(2).padStart(15)}` +
    `${String(r.decodeTokens).padStart(9)}${r.decodeMsPerToken.toFixed(0).padStart(10)}${r.decodeTokensPerSecond.toFixed(3).padStart(14)}  ` +
    r.decodeMsPerTokenRuns.map((ms) => ms.toFixed(0)).join(', ')
  );
}

/** Decode speed of each quantized row relative to the F16 row: how much faster the smaller weights decode. */
export function speedupsOverF16(
  rows: readonly QuantModelBenchRow[],
): { mix: SyntheticMix; decode: number; prefill: number }[] {
  const f16 = rows.find((r) => r.mix === 'f16');
  if (!f16) return [];
  return rows
    .filter((r) => r.mix !== 'f16')
    .map((r) => ({
      mix: r.mix,
      decode: r.decodeTokensPerSecond / f16.decodeTokensPerSecond,
      prefill: r.prefillTokensPerSecond / f16.prefillTokensPerSecond,
    }));
}
