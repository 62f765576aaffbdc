/** Constrained generation on the real Llama 3 vocabulary (byte-level BPE, 128,256 tokens). */
import { generationSuite } from './generation-suite.ts';

generationSuite('llama3', {
  format: 'llama3',
  strictSchema: false,
  triggers: ['{"name": ', '<|python_tag|>'],
  seed: 7,
});
