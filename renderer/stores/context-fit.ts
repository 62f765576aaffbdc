/**
 * A thread longer than the model's context: the oldest turns are left out of the request (a rolling window, as LM
 * Studio's default policy), never the system prompt nor the last user turn, so the reply still fits with its token
 * budget. Counted with the model's own tokenizer and chat template (POST /api/tokenize), in a binary search over how
 * many turns to drop; the first turn kept is a user turn (some chat templates require it).
 */
import type { ChatMessageIn } from '../services/types.ts';

export interface Fitted {
  messages: ChatMessageIn[];
  /** Turns left out (0 when the whole thread fits). */
  leftOut: number;
}

export type CountTokens = (messages: ChatMessageIn[]) => Promise<{ tokens: number; maxContext: number }>;

/**
 * `replyTokens`: the reply's budget (max_tokens), or null to keep a quarter of the context (at most 512 tokens) free:
 * the server gives a reply without max_tokens what the context leaves.
 */
export async function fitToContext(
  messages: ChatMessageIn[],
  replyTokens: number | null,
  count: CountTokens,
): Promise<Fitted> {
  const whole = await count(messages);
  const reserve = replyTokens ?? Math.min(512, Math.floor(whole.maxContext / 4));
  const fits = (tokens: number) => tokens + reserve <= whole.maxContext;
  if (fits(whole.tokens)) return { messages, leftOut: 0 };

  const head = messages[0]?.role === 'system' ? [messages[0]] : [];
  const turns = messages.slice(head.length);
  // How many of the oldest turns may be dropped: a kept thread starts with a user turn and keeps the last one.
  const drops: number[] = [];
  for (let k = 1; k < turns.length; k++) if (turns[k].role === 'user') drops.push(k);
  if (drops.length === 0) return { messages, leftOut: 0 }; // one turn too long alone: the server says so
  const keep = (k: number) => [...head, ...turns.slice(k)];

  // The fewest turns to drop such that the rest fits (more dropped never costs more tokens).
  let lo = 0;
  let hi = drops.length - 1;
  if (!fits((await count(keep(drops[hi]))).tokens)) return { messages: keep(drops[hi]), leftOut: drops[hi] };
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fits((await count(keep(drops[mid]))).tokens)) hi = mid;
    else lo = mid + 1;
  }
  return { messages: keep(drops[lo]), leftOut: drops[lo] };
}
