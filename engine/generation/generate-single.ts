/**
 * Generation for one sequence on the GPU: prefill the prompt in one step, then one step per token. Each step is one
 * command buffer (forward + penalties + sampling) and reads back only the sampled token id. Streams events; stops at
 * EOS / stop tokens, stop strings, max tokens, the end of the context, or the abort signal.
 */
import type { Gpu } from '../gpu/gpu.ts';
import { applyPenalties } from '../gpu/kernels/penalties.ts';
import { sample, writeSamplingParams } from '../gpu/kernels/sampling.ts';
import { recordForward } from '../model/gpu-forward.ts';
import { ContiguousKvCache } from '../model/kv-contiguous.ts';
import type { LoadedModel } from '../model/load-model.ts';
import { penaltyEntries } from '../reference/penalties.ts';
import { StreamDecoder } from '../tokenizer/stream-decoder.ts';
import { randomSeed, SamplingRng } from './rng.ts';
import { type SamplingParams, usesPenalties } from './sampling-params.ts';
import { StopStringMatcher } from './stop-strings.ts';

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerationTimings {
  /** Prompt tokens per second of the prefill step. */
  prefillTokensPerSecond: number;
  /** Generated tokens per second after the first (time per output token, inverted). */
  decodeTokensPerSecond: number;
  timeToFirstTokenMs: number;
  totalMs: number;
}

export type GenerationEvent =
  | { type: 'token'; id: number; text: string }
  | {
      type: 'done';
      finishReason: FinishReason;
      usage: { promptTokens: number; completionTokens: number };
      timings: GenerationTimings;
    };

export interface GenerateOptions {
  /** KV capacity; default prompt + maxTokens, capped by the model's context. */
  contextLength?: number;
  signal?: AbortSignal;
}

export async function* generateSingle(
  gpu: Gpu,
  model: LoadedModel,
  prompt: readonly number[],
  params: SamplingParams,
  options: GenerateOptions = {},
): AsyncGenerator<GenerationEvent> {
  const d = model.dims;
  if (prompt.length === 0) throw new Error('the prompt is empty: at least one token is needed');
  const maxContext = Math.min(
    model.config.maxPositionEmbeddings,
    model.config.slidingWindow ?? Number.POSITIVE_INFINITY,
  );
  const capacity = Math.min(options.contextLength ?? prompt.length + params.maxTokens, maxContext);
  if (prompt.length >= capacity) {
    throw new Error(
      `the prompt has ${prompt.length} tokens; the context holds ${capacity} (model maximum ${maxContext})`,
    );
  }
  const kv = new ContiguousKvCache(gpu, d, capacity);
  const rng = new SamplingRng(params.seed ?? randomSeed());
  const eos = new Set([...(params.ignoreEos ? [] : model.config.eosTokenIds), ...params.stopTokenIds]);
  const decoder = new StreamDecoder(model.tokenizer, { skipSpecialTokens: true });
  const stops = new StopStringMatcher(params.stop);
  const output: number[] = [];
  const started = performance.now();
  let firstTokenAt = 0;
  let finishReason: FinishReason = 'length';

  try {
    let pending = [...prompt];
    while (true) {
      if (options.signal?.aborted) {
        finishReason = 'abort';
        break;
      }
      const id = await step(gpu, model, kv, pending, params, rng, prompt, output);
      kv.length += pending.length;
      if (output.length === 0) firstTokenAt = performance.now();
      output.push(id);
      if (eos.has(id)) {
        finishReason = 'stop';
        break;
      }
      const { emit, stopped } = stops.push(decoder.push(id));
      if (emit) yield { type: 'token', id, text: emit };
      else yield { type: 'token', id, text: '' };
      if (stopped !== null) {
        finishReason = 'stop';
        break;
      }
      if (output.length >= params.maxTokens || kv.length + 1 > capacity) break;
      pending = [id];
    }
    if (finishReason !== 'stop') {
      const rest = stops.push(decoder.flush()).emit + stops.flush();
      if (rest) yield { type: 'token', id: -1, text: rest };
    }
  } finally {
    kv.destroy();
  }
  const end = performance.now();
  const decodeTokens = Math.max(0, output.length - 1);
  yield {
    type: 'done',
    finishReason,
    usage: { promptTokens: prompt.length, completionTokens: output.length },
    timings: {
      prefillTokensPerSecond: firstTokenAt ? prompt.length / ((firstTokenAt - started) / 1000) : 0,
      decodeTokensPerSecond: decodeTokens > 0 ? decodeTokens / ((end - firstTokenAt) / 1000) : 0,
      timeToFirstTokenMs: firstTokenAt ? firstTokenAt - started : 0,
      totalMs: end - started,
    },
  };
}

/** One GPU step: forward over `tokens`, penalties, sampling; returns the sampled id. */
async function step(
  gpu: Gpu,
  model: LoadedModel,
  kv: ContiguousKvCache,
  tokens: number[],
  params: SamplingParams,
  rng: SamplingRng,
  prompt: readonly number[],
  output: readonly number[],
): Promise<number> {
  const s = gpu.step(output.length === 0 ? 'prefill' : 'decode');
  const T = tokens.length;
  const ids = s.scratch('u32', [T], 'ids');
  const positions = s.scratch('u32', [T], 'positions');
  gpu.writeBytes(ids, new Uint8Array(Uint32Array.from(tokens).buffer));
  gpu.writeBytes(positions, new Uint8Array(Uint32Array.from(tokens, (_, i) => kv.length + i).buffer));
  const logits = recordForward(s, model.dims, model.tensors, kv, ids, positions, [T - 1])!;
  if (usesPenalties(params)) {
    const entries = penaltyEntries(0, prompt, output);
    const tEntries = s.scratch('u32', [entries.length, 3], 'penalty entries');
    gpu.writeBytes(
      tEntries,
      new Uint8Array(Uint32Array.from(entries.flatMap((e) => [e.row, e.token, e.outputCount])).buffer),
    );
    const tPenalties = s.scratch('f32', [1, 3], 'penalties');
    gpu.writeBytes(
      tPenalties,
      new Uint8Array(
        Float32Array.from([params.repetitionPenalty, params.presencePenalty, params.frequencyPenalty]).buffer,
      ),
    );
    applyPenalties(s, { logits, entries: tEntries, penalties: tPenalties });
  }
  const sampling = writeSamplingParams([
    { temperature: params.temperature, topK: params.topK, topP: params.topP, minP: params.minP, random: rng.next() },
  ]);
  const tSampling = s.scratch('f32', [1, sampling.length], 'sampling params');
  gpu.writeBytes(tSampling, new Uint8Array(sampling.buffer));
  const out = s.scratch('u32', [1], 'sampled');
  sample(s, { logits, params: tSampling, out });
  const bytes = s.read(out);
  await s.submit();
  return new Uint32Array((await bytes).slice(0, 4).buffer)[0];
}
