/** The figures under a reply, from the clock and the server's usage and plas fields (never from counting chunks). */
import type { ReplyStats } from '../services/conversations.ts';
import type { PlasReport, Usage } from '../services/types.ts';

export interface StreamClock {
  sentAt: number;
  firstTokenAt: number | null;
  endedAt: number;
}

export function replyStats(
  clock: StreamClock,
  usage: Usage | null,
  plas: PlasReport | null,
  leftOut: number | null = null,
): ReplyStats {
  const ttftMs = clock.firstTokenAt === null ? null : clock.firstTokenAt - clock.sentAt;
  const tokens = usage?.completion_tokens ?? null;
  let tokensPerSecond: number | null = null;
  if (tokens !== null && clock.firstTokenAt !== null) {
    // The first token's time is TTFT; the rate is of the tokens decoded after it.
    const decodeSeconds = (clock.endedAt - clock.firstTokenAt) / 1000;
    tokensPerSecond =
      tokens > 1 && decodeSeconds > 0 ? (tokens - 1) / decodeSeconds : tokens / ((clock.endedAt - clock.sentAt) / 1000);
  }
  return {
    ttftMs,
    tokensPerSecond,
    promptTokens: usage?.prompt_tokens ?? null,
    completionTokens: tokens,
    plas,
    leftOut,
  };
}
