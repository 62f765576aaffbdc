/**
 * One sequence of a generate() call and its output processing, apart from the step loop: the tokens a step produced
 * become text (streamed detokenization), stop strings are looked for (text that might start one is held back), and
 * the events the caller sees are made. The step loop hands it updates; it never touches the GPU.
 */
import type { SamplingRng } from '../generation/rng.ts';
import type { SamplingParams } from '../generation/sampling-params.ts';
import { StopStringMatcher } from '../generation/stop-strings.ts';
import type { GrammarMatcher } from '../grammar/grammar-engine.ts';
import type { PlasConfig } from '../plas/config.ts';
import type { RequestUpdate } from '../scheduler/output.ts';
import type { FinishReason, Request } from '../scheduler/request.ts';
import type { StreamDecoder } from '../tokenizer/stream-decoder.ts';
import type { AttentionReport, EngineEvent, TokenLogprob } from './types.ts';

export type TokenEvent = Extract<EngineEvent, { type: 'token' }>;
export type DoneEvent = Extract<EngineEvent, { type: 'done' }>;

/** What processing one update decided: the event to emit (if any text or ids), and whether a stop string ended it. */
export interface Processed {
  event: TokenEvent | null;
  stoppedBy: string | null;
}

export interface ChoiceInit {
  index: number;
  request: Request<SamplingParams>;
  rng: SamplingRng;
  decoder: StreamDecoder;
  /** 0-20, or undefined when the request did not ask for logprobs. */
  topLogprobs: number | undefined;
  logitBias: ReadonlyMap<number, number> | undefined;
  /** The PLAS config this choice runs with ('live': the engine's, as it changes), or null when it runs dense. */
  plas: PlasConfig | 'live' | null;
  grammar: GrammarMatcher | null;
  arrivedAt: number;
}

export class Choice {
  readonly index: number;
  readonly request: Request<SamplingParams>;
  readonly sampling: SamplingParams;
  readonly rng: SamplingRng;
  readonly topLogprobs: number | undefined;
  readonly logitBias: ReadonlyMap<number, number> | undefined;
  readonly plas: PlasConfig | 'live' | null;
  readonly grammar: GrammarMatcher | null;
  /** The token the grammar has not accepted yet (sampled last step), or null. */
  grammarPending: number | null = null;
  /** This step's token mask (grammar, min_tokens), u32 [ceil(V / 32)], bit 1 = allowed; null = every token. */
  mask: Uint32Array | null = null;
  readonly arrivedAt: number;
  firstTokenAt = 0;
  lastTokenAt = 0;
  private readonly decoder: StreamDecoder;
  private readonly stops: StopStringMatcher;

  constructor(init: ChoiceInit) {
    this.index = init.index;
    this.request = init.request;
    this.sampling = init.request.sampling!;
    this.rng = init.rng;
    this.decoder = init.decoder;
    this.topLogprobs = init.topLogprobs;
    this.logitBias = init.logitBias;
    this.plas = init.plas;
    this.grammar = init.grammar;
    this.arrivedAt = init.arrivedAt;
    this.stops = new StopStringMatcher(this.sampling.stop);
  }

  get id(): string {
    return this.request.id;
  }

  /** What the model runner reads of a request. */
  get promptTokenIds(): readonly number[] {
    return this.request.promptTokenIds;
  }

  get outputTokenIds(): readonly number[] {
    return this.request.outputTokenIds;
  }

  /** Turn a step's new tokens into text; `logprobs` lines up with update.newTokenIds. */
  process(update: RequestUpdate, logprobs: readonly TokenLogprob[] | undefined, now: number): Processed {
    if (this.firstTokenAt === 0 && update.newTokenIds.length > 0) this.firstTokenAt = now;
    this.lastTokenAt = now;
    const ids: number[] = [];
    const kept: TokenLogprob[] = [];
    let text = '';
    let stoppedBy: string | null = null;
    const before = this.request.outputTokenIds.length - update.newTokenIds.length;
    for (let i = 0; i < update.newTokenIds.length; i++) {
      const id = update.newTokenIds[i];
      if (update.stopTokenId === id && i === update.newTokenIds.length - 1) break; // EOS and stop ids are not shown
      ids.push(id);
      if (logprobs?.[i]) kept.push(logprobs[i]);
      const piece = this.decoder.push(id);
      // vLLM's min_tokens: stop strings are not looked for before it (EOS and stop ids are masked on the GPU).
      if (before + i + 1 <= this.sampling.minTokens) {
        text += this.stops.flush() + piece;
        continue;
      }
      const { emit, stopped } = this.stops.push(piece);
      text += emit;
      if (stopped !== null) {
        if (this.sampling.includeStopStrInOutput) text += stopped;
        stoppedBy = stopped;
        break;
      }
    }
    if (update.finishReason !== null && stoppedBy === null) text += this.flush();
    if (ids.length === 0 && !text) return { event: null, stoppedBy };
    const event: TokenEvent = { type: 'token', index: this.index, ids, text };
    if (this.topLogprobs !== undefined) event.logprobs = kept;
    return { event, stoppedBy };
  }

  /** Text held back (an incomplete character, a possible stop-string start) becomes output when nothing follows. */
  flush(): string {
    return this.stops.push(this.decoder.flush()).emit + this.stops.flush();
  }

  done(reason: FinishReason, stoppedBy: string | number | null, attention: AttentionReport, now: number): DoneEvent {
    const n = this.request.outputTokenIds.length;
    return {
      type: 'done',
      index: this.index,
      finishReason: reason,
      stoppedBy,
      usage: {
        promptTokens: this.request.promptTokenIds.length,
        completionTokens: n,
        cachedPromptTokens: this.request.numCachedTokens,
      },
      timings: {
        timeToFirstTokenMs: this.firstTokenAt ? this.firstTokenAt - this.arrivedAt : 0,
        timePerOutputTokenMs: n > 1 ? (this.lastTokenAt - this.firstTokenAt) / (n - 1) : 0,
        totalMs: now - this.arrivedAt,
      },
      attention,
    };
  }
}
