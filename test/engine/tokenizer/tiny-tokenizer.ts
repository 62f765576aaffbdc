/** A five-token BPE tokenizer written out in full, for tests that break one part of it at a time. */

export function tinyTokenizerJson(): Record<string, unknown> {
  return {
    version: '1.0',
    model: { type: 'BPE', vocab: { h: 0, i: 1, hi: 2, ' ': 3, '!': 4 }, merges: ['h i'] },
    added_tokens: [{ id: 5, content: '<eos>', special: true }],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
  };
}

export function tinyTokenizerConfig(): Record<string, unknown> {
  return { eos_token: '<eos>' };
}
