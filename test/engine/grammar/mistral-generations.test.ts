/**
 * Constrained generation on Mistral 7B's vocabulary (SentencePiece-style BPE with byte fallback, 32,000 tokens), in
 * Mistral's own tool-call format.
 */
import { generationSuite } from './generation-suite.ts';

generationSuite('mistral', { format: 'mistral', strictSchema: true, triggers: ['[TOOL_CALLS]'], seed: 11 });
