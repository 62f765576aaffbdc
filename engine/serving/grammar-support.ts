/**
 * The engine's side of structured output: one grammar engine per model (an XGrammar worker, made on first use since
 * its tokenizer info takes ~0.3 s), matchers per choice, and one worker round trip per step for every grammar request
 * of the batch. A grammar failure fails only the requests it concerns.
 */
import type { GrammarEngine, GrammarMatcher } from '../grammar/grammar-engine.ts';
import type { LoadedModel } from '../model/load-model.ts';
import type { GrammarSpec } from './types.ts';

/** What a step asks of a choice with a grammar: accept its last token, then give the next mask. */
export interface GrammarChoice {
  grammar: GrammarMatcher | null;
  grammarPending: number | null;
}

export class GrammarSupport {
  private engine: Promise<GrammarEngine> | null = null;

  constructor(private readonly model: LoadedModel) {}

  /** The model's grammar engine (made on first call). */
  get(): Promise<GrammarEngine> {
    // Imported on first use: a server that never constrains output never loads XGrammar.
    this.engine ??= import('../grammar/grammar-engine.ts').then(({ GrammarEngine }) =>
      GrammarEngine.forTokenizer(this.model.tokenizer, this.model.config.vocabSize, this.model.config.eosTokenIds),
    );
    return this.engine;
  }

  /** Compile `spec` (cached by the grammar engine) and make one matcher per choice. */
  async matchers(spec: GrammarSpec, n: number): Promise<GrammarMatcher[]> {
    const engine = await this.get();
    const compiled = await engine.compile(spec);
    return Promise.all(Array.from({ length: n }, () => engine.createMatcher(compiled)));
  }

  /** Accept each choice's pending token and get its next mask; choices whose grammar failed come back in `failed`. */
  async step<C extends GrammarChoice>(
    choices: readonly C[],
  ): Promise<{ masks: Map<C, Uint32Array | null>; failed: Map<C, Error> }> {
    const masks = new Map<C, Uint32Array | null>();
    const failed = new Map<C, Error>();
    const engine = await this.get();
    const entries = choices.map((c) => ({
      matcher: c.grammar!,
      ...(c.grammarPending !== null ? { accept: c.grammarPending } : {}),
    }));
    try {
      const results = await engine.step(entries);
      choices.forEach((c, i) => {
        const r = results[i];
        if (r.failure) failed.set(c, r.failure);
        else if (c.grammarPending !== null && !r.accepted) {
          failed.set(c, new Error(`the grammar rejected token ${c.grammarPending}, which its own mask allowed`));
        } else masks.set(c, r.mask);
        c.grammarPending = null;
      });
    } catch (error) {
      for (const c of choices) failed.set(c, error as Error);
    }
    return { masks, failed };
  }

  release(matcher: GrammarMatcher): void {
    if (this.engine) void this.engine.then((e) => e.release(matcher)).catch(() => {});
  }

  async close(): Promise<void> {
    if (!this.engine) return;
    const engine = await this.engine.catch(() => null);
    await engine?.close();
  }
}
