/** Constrained generation on the real Qwen3 vocabulary (byte-level BPE, 151,669 tokens, logits padded to 151,936). */
import { generationSuite } from './generation-suite.ts';

generationSuite('qwen3', { format: 'hermes', strictSchema: true, triggers: ['<tool_call>'], seed: 3 });
