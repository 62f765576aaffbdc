/**
 * What a caller hands `Engine.generate` and what comes back: typed requests in, events out. The hosts (CLI, server)
 * build these from flags or validated HTTP bodies; nothing here knows JSON or HTTP.
 */
import type { SamplingParams } from '../generation/sampling-params.ts';
import type { PlasConfig } from '../plas/config.ts';
import type { FinishReason } from '../scheduler/request.ts';

/** Grammars the sampler can be held to (compiled by XGrammar off the step loop; see engine/grammar/). */
export type GrammarSpec =
  /** Any JSON value whose top level is an object (OpenAI's `json_object`). */
  | { type: 'json' }
  /** JSON matching `schema` (OpenAI's `json_schema`); strict: no properties beyond the schema's. */
  | { type: 'json_schema'; schema: unknown; strict?: boolean }
  /**
   * Tool calls in the model family's own markers, each call's arguments held to its tool's parameter schema.
   * mode 'auto': free text, and a call whenever the model opens one; 'required': at least one call, no text before it;
   * a tool name in `only`: that tool alone (OpenAI's named tool_choice).
   */
  | { type: 'tool_calls'; format: ToolCallFormat; tools: ToolSpec[]; mode: 'auto' | 'required'; only?: string };

export type ToolCallFormat = 'hermes' | 'llama3' | 'mistral';

export interface ToolSpec {
  name: string;
  description?: string;
  /** A JSON schema for the arguments object. */
  parameters: unknown;
}

export interface AttentionOverride {
  backend?: 'dense' | 'plas';
  /** Merged over the engine's live PLAS config for this request only (the block size cannot change). */
  plas?: Partial<PlasConfig>;
}

export interface GenerateRequest {
  /** Token ids of the prompt (the caller applies the chat template and tokenizes). */
  promptTokenIds: readonly number[];
  /** Fields left out take the model's generation_config.json defaults, then the engine's (DEFAULT_SAMPLING). */
  sampling?: Partial<SamplingParams>;
  /** Defaults to a fresh id. */
  id?: string;
  /**
   * Completions of this prompt (default 1). The prompt is computed once; choice i samples with seed + i (a random
   * seed when none is given), so choice i equals a single request with that seed.
   */
  n?: number;
  /** Log-probabilities of each sampled token and of its `topLogprobs` (0-20) most likely alternatives. */
  logprobs?: { topLogprobs: number };
  /** Added to the logits before sampling, token id -> bias clamped to [-100, 100]. */
  logitBias?: ReadonlyMap<number, number>;
  grammar?: GrammarSpec;
  /** Dense or PLAS, and PLAS ranges, for this request only. */
  attention?: AttentionOverride;
}

/**
 * A sampled token's log-probability under the model's distribution after penalties, bias and grammar mask but before
 * temperature, top-k, top-p and min-p (vLLM's default "processed logits" minus the sampling transforms; OpenAI's
 * numbers are of the same kind), with the most likely alternatives, most likely first.
 */
export interface TokenLogprob {
  id: number;
  logprob: number;
  top: { id: number; logprob: number }[];
}

export interface RequestTimings {
  /** From arrival to the first generated token. */
  timeToFirstTokenMs: number;
  /** Mean time between output tokens after the first. */
  timePerOutputTokenMs: number;
  totalMs: number;
}

/** What a request attended: its backend, the density of prefill and decode, and the ranges in force. */
export interface AttentionReport {
  backend: 'dense' | 'plas';
  /** Share of the candidate KV blocks attended, 0..1, over sampled steps (1 when dense or not sampled). */
  prefillDensity: number;
  decodeDensity: number;
  blocksSelected: number;
  blocksCandidate: number;
  /**
   * Per layer (index = layer, one entry per model layer), the share of candidate blocks attended in prefill and in
   * decode apart, over sampled steps: null where that layer ran no sampled unit of that kind (a decode that was never
   * sampled, a cached prompt). A dense request attends everything: 1 on every layer. The engine always sets it;
   * optional so that scripted engines (the server's tests) need not invent one.
   */
  layerDensity?: { prefill: (number | null)[]; decode: (number | null)[] };
  /** The PLAS config in force for this request (also when dense, for comparison). */
  plas: PlasConfig;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens found in the prefix cache, not computed. */
  cachedPromptTokens: number;
}

export type EngineEvent =
  /** Choice `index` generated `ids`; `text` is what they add to the visible output (held back near a stop string). */
  | { type: 'token'; index: number; ids: number[]; text: string; logprobs?: TokenLogprob[] }
  | {
      type: 'done';
      index: number;
      finishReason: FinishReason;
      /** The stop string or stop token id that ended it, when finishReason is 'stop' (null for EOS). */
      stoppedBy: string | number | null;
      usage: Usage;
      timings: RequestTimings;
      attention: AttentionReport;
    };
