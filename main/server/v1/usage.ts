/**
 * Token counts of a finished request from its choices' done events: the prompt is computed once per prompt (each
 * choice repeats its length), completions add up.
 */
import type { EngineEvent } from '../../../engine/serving/types.ts';
import type { RouteScope } from './route-scope.ts';

type DoneEvent = Extract<EngineEvent, { type: 'done' }>;

export interface Counts {
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
}

/** `groups`: the done events of each prompt (one group for chat and responses). */
export function countTokens(groups: readonly (readonly DoneEvent[])[]): Counts {
  const out: Counts = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };
  for (const done of groups) {
    if (done.length === 0) continue;
    out.promptTokens += done[0].usage.promptTokens;
    out.cachedPromptTokens += Math.max(...done.map((d) => d.usage.cachedPromptTokens));
    for (const d of done) out.completionTokens += d.usage.completionTokens;
  }
  return out;
}

/** Chat's and completions' usage object. */
export function openAIUsage(c: Counts) {
  return {
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    total_tokens: c.promptTokens + c.completionTokens,
    prompt_tokens_details: { cached_tokens: c.cachedPromptTokens },
  };
}

/** Put the counts and timings on the scope, for the metrics and the request log. */
export function noteUsage(scope: RouteScope, c: Counts, done: readonly DoneEvent[]): void {
  scope.promptTokens = c.promptTokens;
  scope.completionTokens = c.completionTokens;
  scope.timings.push(...done.map((d) => d.timings));
  scope.attention.push(...done.map((d) => d.attention));
}
