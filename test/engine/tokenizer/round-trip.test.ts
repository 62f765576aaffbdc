/** decode(encode(text)) gives the text back, on all three real tokenizers, for text that is hard to tokenize. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadReal, REAL_TOKENIZER_NAMES } from './real-tokenizers.ts';
import { UNICODE_SAMPLES } from './unicode-samples.ts';

for (const name of REAL_TOKENIZER_NAMES) {
  describe(`${name} round trips`, () => {
    for (const [what, text] of Object.entries(UNICODE_SAMPLES)) {
      it(what, async () => {
        const t = await loadReal(name);
        const ids = t.encode(text, { addSpecialTokens: false });
        // Qwen3's tokenizer.json normalizes to NFC before encoding, so decomposed é comes back composed (as with
        // the Rust crate); the others keep the text as written.
        const expected = name === 'qwen3' ? text.normalize('NFC') : text;
        assert.equal(t.decode(ids), expected);
        // With the special tokens the tokenizer adds (Mistral's <s>), skipping them gives the same text.
        assert.equal(t.decode(t.encode(text), { skipSpecialTokens: true }), expected);
      });
    }
  });
}
