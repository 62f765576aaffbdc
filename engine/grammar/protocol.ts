/**
 * The one contract between the grammar engine (main thread) and its XGrammar worker thread: what each side posts.
 * The engine sends one request at a time and waits for its reply (so a watchdog timer measures exactly that
 * request); `release` alone needs no reply.
 */

/** What the worker compiles. The engine turns a request's GrammarSpec into this (compile-plan.ts). */
export type CompilePlan =
  /** compileJSONSchema(schema, any whitespace, default separators, strict); whitespace-guard.ts bounds the runs */
  | { kind: 'json_schema'; schema: string; strict: boolean }
  /** compileStructuralTag(tag): `tag` is the JSON text of a structural tag ({type: 'structural_tag', format}). */
  | { kind: 'structural_tag'; tag: string };

export type VocabType = 'byte_level' | 'byte_fallback' | 'raw';

/** workerData: everything the worker needs to build its TokenizerInfo. */
export interface WorkerInit {
  /** Token strings as tokenizer.json spells them, by id ('' for ids without a token). */
  vocab: string[];
  vocabType: VocabType;
  /** Columns of the logits (may exceed the vocabulary: padding ids are always disallowed). */
  logitsWidth: number;
  stopTokenIds: number[];
}

export type WorkerRequest =
  | { type: 'compile'; key: string; plan: CompilePlan }
  /** Compiles `plan` first when this worker has not (yet, or any more) got `key`. */
  | { type: 'createMatcher'; matcherId: number; key: string; plan: CompilePlan }
  /** For each i: accept accepts[i] (-1: none) in matcher matcherIds[i], then compute its next mask. */
  | { type: 'step'; matcherIds: Int32Array; accepts: Int32Array }
  | { type: 'release'; matcherId: number }
  /** Test hook for the watchdog: blocks the worker's thread for `ms` (no reply). */
  | { type: 'hang'; ms: number };

/** Bits of the flags of a `stepped` reply. */
export const STEP_ACCEPTED = 1;
export const STEP_TERMINATED = 2;
/** The entry has a mask at masks[slot * words ...]; without it every token is allowed (or it terminated). */
export const STEP_MASKED = 4;

export type WorkerReply =
  | { type: 'ready'; tokenizerInfoMs: number }
  /** XGrammar could not be loaded: the worker ends after this. */
  | { type: 'unavailable'; message: string }
  | { type: 'compiled'; ms: number }
  | { type: 'matcherCreated' }
  /**
   * flags[i]: STEP_* bits of entry i; slots[i]: its mask's index in `masks` when STEP_MASKED; masks: u32 words,
   * ceil(logitsWidth / 32) per masked entry, bit 1 = allowed (transferred, not copied).
   */
  | { type: 'stepped'; flags: Uint8Array; slots: Int32Array; masks: Uint32Array }
  /**
   * The request failed inside XGrammar. `detail` is its own message (the C++ check that failed); `aborted`: the
   * wasm instance aborted, which leaks some of its state, so the engine retires a worker after a few; `silent`: it
   * aborted without a message, as when its 2 GB of memory ran out, so the engine retires it at once.
   */
  | { type: 'failed'; detail: string; aborted: boolean; silent: boolean };
