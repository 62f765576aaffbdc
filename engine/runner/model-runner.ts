/**
 * Runs one SchedulerOutput on the GPU: every scheduled request's tokens in ONE batched forward pass, encoded as one
 * command buffer with the logit processing (penalties, bias, token masks) and the sampling of every request that
 * samples, and the logprobs of those that asked; reads back only the sampled ids (and those logprobs).
 */

import type { SamplingRng } from '../generation/rng.ts';
import { type SamplingParams, usesPenalties } from '../generation/sampling-params.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { logprobs, logprobsWords, unpackLogprobs } from '../gpu/kernels/logprobs.ts';
import { applyPenalties } from '../gpu/kernels/penalties.ts';
import { type SamplingRow, sample, writeSamplingParams } from '../gpu/kernels/sampling.ts';
import type { Step } from '../gpu/step.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { type BatchSequence, packBatch, slotMapping } from '../kv/paged-layout.ts';
import { type AttentionBackend, recordForward } from '../model/gpu-forward.ts';
import type { LoadedModel } from '../model/load-model.ts';
import { type PenaltyEntry, penaltyEntries } from '../reference/penalties.ts';
import type { SchedulerOutput } from '../scheduler/output.ts';
import type { TokenLogprob } from '../serving/types.ts';
import { recordLogitProcessing } from './logit-processing.ts';
import { PagedAttentionBackend } from './paged-backend.ts';
import type { PagedKvPool } from './paged-kv-pool.ts';

/** What the runner needs to know about a request beyond the scheduler's view. */
export interface RunnerRequest {
  sampling: SamplingParams;
  rng: SamplingRng;
  promptTokenIds: readonly number[];
  outputTokenIds: readonly number[];
  /** Token id -> bias added to its logit (already clamped to [-100, 100]). */
  logitBias?: ReadonlyMap<number, number>;
  /** This step's allowed tokens, u32 [ceil(V / 32)] with bit 1 = allowed; null or absent = every token. */
  mask?: Uint32Array | null;
  /** Logprobs of the sampled token and this many alternatives (0-20); absent = no logprobs. */
  topLogprobs?: number;
}

/** What a step produced: per sampling request its new token(s), and the logprobs of those that asked. */
export interface StepResult {
  tokens: Map<string, number[]>;
  logprobs: Map<string, TokenLogprob[]>;
}

export interface StepUpload {
  ids: Tensor; // u32 [T]
  positions: Tensor; // u32 [T]
  seqs: Tensor; // u32 [B, 4]
  blockTables: Tensor; // u32 [n]
  slots: Tensor; // u32 [T]
}

/** Makes the attention backend for one step (dense paged by default; PLAS plugs in here). */
export type BackendFactory = (
  step: Step,
  upload: StepUpload,
  host: readonly BatchSequence[],
  requestIds: readonly string[],
) => AttentionBackend;

function writeU32(gpu: Gpu, step: Step, values: ArrayLike<number>, shape: number[], label: string): Tensor {
  const t = step.scratch('u32', shape, label);
  gpu.writeBytes(t, new Uint8Array(Uint32Array.from(values).buffer));
  return t;
}

export class ModelRunner {
  steps = 0;

  constructor(
    private readonly gpu: Gpu,
    private readonly model: LoadedModel,
    private readonly pool: PagedKvPool,
    private readonly makeBackend: BackendFactory = (_step, upload, host) =>
      new PagedAttentionBackend(
        this.pool.layers,
        { seqs: upload.seqs, blockTables: upload.blockTables, host, pageSize: this.pool.options.pageSize },
        upload.slots,
      ),
  ) {}

  /** Compute the step; returns the sampled token of every request that samples. */
  async execute(output: SchedulerOutput, requests: ReadonlyMap<string, RunnerRequest>): Promise<StepResult> {
    const gpu = this.gpu;
    const step = gpu.step(`step ${output.step}`);
    const tokens: number[] = [];
    const positions: number[] = [];
    const host: BatchSequence[] = [];
    const samplers: { id: string; row: number }[] = [];
    for (const s of output.scheduled) {
      const queryOffset = tokens.length;
      s.tokenIds.forEach((t, i) => {
        tokens.push(t);
        positions.push(s.start + i);
      });
      host.push({
        queryOffset,
        numQueries: s.tokenIds.length,
        kvLength: s.start + s.tokenIds.length,
        blockTable: s.blockTable,
      });
      if (s.sample) samplers.push({ id: s.requestId, row: tokens.length - 1 });
    }
    // Requests that asked for logprobs first: their logits rows are then rows 0 ..< A, one view for the kernel.
    const asks = (id: string) => requests.get(id)?.topLogprobs !== undefined;
    samplers.sort((a, b) => Number(asks(b.id)) - Number(asks(a.id)));
    const T = tokens.length;
    const packed = packBatch(host);
    const upload: StepUpload = {
      ids: writeU32(gpu, step, tokens, [T], 'ids'),
      positions: writeU32(gpu, step, positions, [T], 'positions'),
      seqs: writeU32(gpu, step, packed.seqs, [host.length, 4], 'seqs'),
      blockTables: writeU32(gpu, step, packed.blockTables, [packed.blockTables.length], 'block tables'),
      slots: writeU32(gpu, step, slotMapping(host, this.pool.options.pageSize), [T], 'slot mapping'),
    };
    const backend = this.makeBackend(
      step,
      upload,
      host,
      output.scheduled.map((s) => s.requestId),
    );
    const d = this.model.dims;
    if (samplers.length === 0) {
      // Only prefill chunks that do not reach the end of their prompts: K/V is all this step produces.
      recordForward(step, d, this.model.tensors, backend, upload.ids, upload.positions, []);
      await step.submit();
      this.steps++;
      return { tokens: new Map(), logprobs: new Map() };
    }
    const logits = recordForward(
      step,
      d,
      this.model.tensors,
      backend,
      upload.ids,
      upload.positions,
      samplers.map((s) => s.row),
    )!; // rows were asked for, so logits exist
    this.recordPenalties(step, logits, samplers, requests);
    recordLogitProcessing(
      step,
      logits,
      samplers.map(({ id }) => requests.get(id)!),
    );
    const rows: SamplingRow[] = samplers.map(({ id }) => {
      const r = requests.get(id)!;
      const p = r.sampling;
      return { temperature: p.temperature, topK: p.topK, topP: p.topP, minP: p.minP, random: r.rng.next() };
    });
    const params = writeSamplingParams(rows);
    const tParams = step.scratch('f32', [rows.length, params.length / rows.length], 'sampling params');
    gpu.writeBytes(tParams, new Uint8Array(params.buffer));
    const sampled = step.scratch('u32', [rows.length], 'sampled');
    sample(step, { logits, params: tParams, out: sampled });
    const bytes = step.read(sampled);
    const asking = samplers.filter(({ id }) => asks(id)).length;
    const topN = Math.max(0, ...samplers.slice(0, asking).map(({ id }) => requests.get(id)!.topLogprobs ?? 0));
    let logprobBytes: Promise<Uint8Array> | null = null;
    if (asking > 0) {
      const out = step.scratch('u32', [asking, logprobsWords(topN)], 'logprobs');
      const [, V] = logits.shape;
      logprobs(step, {
        logits: { ...logits, shape: [asking, V] },
        sampled: { ...sampled, shape: [asking] },
        topN,
        out,
      });
      logprobBytes = step.read(out);
    }
    await step.submit();
    this.steps++;
    const ids = new Uint32Array((await bytes).slice(0, rows.length * 4).buffer);
    const result: StepResult = {
      tokens: new Map(samplers.map(({ id }, i) => [id, [ids[i]]])),
      logprobs: new Map(),
    };
    if (logprobBytes) {
      const unpacked = unpackLogprobs(await logprobBytes, asking, topN, ids);
      samplers.slice(0, asking).forEach(({ id }, i) => {
        const want = requests.get(id)!.topLogprobs ?? 0;
        const lp = unpacked[i];
        result.logprobs.set(id, [{ ...lp, top: lp.top.slice(0, want) }]);
      });
    }
    return result;
  }

  private recordPenalties(
    step: Step,
    logits: Tensor,
    samplers: readonly { id: string }[],
    requests: ReadonlyMap<string, RunnerRequest>,
  ): void {
    const entries: PenaltyEntry[] = [];
    const perRow: number[] = [];
    samplers.forEach(({ id }, row) => {
      const r = requests.get(id)!;
      const p = r.sampling;
      perRow.push(p.repetitionPenalty, p.presencePenalty, p.frequencyPenalty);
      if (usesPenalties(p)) entries.push(...penaltyEntries(row, r.promptTokenIds, r.outputTokenIds));
    });
    if (entries.length === 0) return;
    const tEntries = writeU32(
      this.gpu,
      step,
      entries.flatMap((e) => [e.row, e.token, e.outputCount]),
      [entries.length, 3],
      'penalty entries',
    );
    const tPenalties = step.scratch('f32', [samplers.length, 3], 'penalties');
    this.gpu.writeBytes(tPenalties, new Uint8Array(Float32Array.from(perRow).buffer));
    applyPenalties(step, { logits, entries: tEntries, penalties: tPenalties });
  }
}
