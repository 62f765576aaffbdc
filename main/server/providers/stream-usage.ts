/**
 * What a forwarded answer says about itself, for the request log: token counts (`usage`) and the first choice's finish
 * reason, read from a non-streamed JSON body, or from the last events of a stream (kept in a bounded tail: the
 * stream itself is never held).
 */

export interface AnswerSummary {
  promptTokens: number;
  completionTokens: number;
  finishReason: string | null;
}

const TAIL_BYTES = 16 * 1024;

/** The last TAIL_BYTES of a stream. */
export class StreamTail {
  #text = '';

  add(chunk: Buffer): void {
    this.#text += chunk.toString('utf8');
    if (this.#text.length > 2 * TAIL_BYTES) this.#text = this.#text.slice(-TAIL_BYTES);
  }

  get text(): string {
    return this.#text;
  }
}

const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);

function fromObject(o: Record<string, unknown>, into: AnswerSummary): void {
  // Chat and completions: usage.prompt_tokens; Responses: response.usage.input_tokens.
  const response = (o.response ?? null) as Record<string, unknown> | null;
  const usage = (o.usage ?? response?.usage ?? null) as Record<string, unknown> | null;
  if (usage) {
    into.promptTokens = int(usage.prompt_tokens ?? usage.input_tokens);
    into.completionTokens = int(usage.completion_tokens ?? usage.output_tokens);
  }
  const choices = o.choices as { finish_reason?: unknown }[] | undefined;
  const reason = Array.isArray(choices) ? choices[0]?.finish_reason : undefined;
  if (typeof reason === 'string') into.finishReason = reason;
  else if (response && typeof response.status === 'string' && response.status !== 'in_progress') {
    into.finishReason = response.status === 'completed' ? 'stop' : response.status;
  }
}

export function summarizeJson(text: string): AnswerSummary {
  const out: AnswerSummary = { promptTokens: 0, completionTokens: 0, finishReason: null };
  try {
    const o = JSON.parse(text) as unknown;
    if (typeof o === 'object' && o !== null) fromObject(o as Record<string, unknown>, out);
  } catch {}
  return out;
}

export function summarizeStream(tail: string): AnswerSummary {
  const out: AnswerSummary = { promptTokens: 0, completionTokens: 0, finishReason: null };
  for (const line of tail.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    try {
      fromObject(JSON.parse(line.slice(6)) as Record<string, unknown>, out);
    } catch {} // the tail's first line may be cut
  }
  return out;
}
