/**
 * StreamDecoder, id by id: the pieces concatenate to exactly decode(all ids), and no piece of valid text contains
 * U+FFFD (a character cut between tokens is held back until complete).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamDecoder } from '../../../engine/tokenizer/stream-decoder.ts';
import type { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { loadReal, REAL_TOKENIZER_NAMES } from './real-tokenizers.ts';
import { UNICODE_SAMPLES } from './unicode-samples.ts';

function stream(t: Tokenizer, ids: readonly number[], skipSpecialTokens = false): { pieces: string[]; tail: string } {
  const decoder = new StreamDecoder(t, { skipSpecialTokens });
  const pieces = ids.map((id) => decoder.push(id));
  return { pieces, tail: decoder.flush() };
}

for (const name of REAL_TOKENIZER_NAMES) {
  describe(`${name} streaming`, () => {
    for (const [what, text] of Object.entries(UNICODE_SAMPLES)) {
      it(what, async () => {
        const t = await loadReal(name);
        const ids = t.encode(text); // with Mistral's <s>: streaming must agree with decode() about it too
        for (const skip of [false, true]) {
          const { pieces, tail } = stream(t, ids, skip);
          assert.equal(pieces.join('') + tail, t.decode(ids, { skipSpecialTokens: skip }), `skip=${skip}`);
          assert.equal(tail, '', 'valid text leaves nothing for flush()');
          for (const [i, p] of pieces.entries()) {
            assert.ok(!p.includes('\uFFFD'), `piece ${i} ${JSON.stringify(p)} has U+FFFD`);
          }
        }
      });
    }

    it('a chat turn with special tokens, kept or skipped', async () => {
      const t = await loadReal(name);
      const text =
        name === 'qwen3'
          ? '<|im_start|>assistant\nSalut 👋🏽, ça va? 日本<|im_end|>'
          : name === 'llama3'
            ? '<|start_header_id|>assistant<|end_header_id|>\n\nSalut 👋🏽, ça va? 日本<|eot_id|>'
            : '[INST] Salut [/INST] 👋🏽, ça va? 日本</s>';
      const ids = t.encode(text);
      for (const skip of [false, true]) {
        const { pieces, tail } = stream(t, ids, skip);
        assert.equal(pieces.join('') + tail, t.decode(ids, { skipSpecialTokens: skip }), `skip=${skip}`);
        for (const p of pieces) assert.ok(!p.includes('\uFFFD'));
      }
    });
  });
}

describe('StreamDecoder holds back partial characters', () => {
  it('emits a 4-byte emoji split into byte tokens only once its last byte arrives', async () => {
    const t = await loadReal('mistral');
    // ▁I, ▁, <0xF0>, <0x9F>, <0xA6>, <0x99>, ▁you: 🦙 is four byte-fallback tokens
    const { pieces, tail } = stream(t, [315, 28705, 243, 162, 169, 156, 368]);
    assert.deepEqual(pieces, ['I', ' ', '', '', '', '🦙', ' you']);
    assert.equal(tail, '');
  });

  it('emits a byte-level emoji split across tokens whole', async () => {
    const t = await loadReal('qwen3');
    const ids = t.encode('a 👨‍👩‍👧‍👦 b');
    const { pieces, tail } = stream(t, ids);
    assert.ok(pieces.includes(''), 'some ids end mid-character and are held back');
    for (const p of pieces) assert.ok(!p.includes('\uFFFD'), JSON.stringify(pieces));
    assert.equal(pieces.join('') + tail, 'a 👨‍👩‍👧‍👦 b');
  });

  it('gives an unfinished character to flush() as U+FFFD, as decode() does', async () => {
    const t = await loadReal('mistral');
    const ids = [315, 243, 162]; // ▁I, then the first two bytes of a 4-byte character
    const { pieces, tail } = stream(t, ids);
    assert.deepEqual(pieces, ['I', '', '']);
    assert.equal(pieces.join('') + tail, t.decode(ids));
    assert.ok(tail.endsWith('\uFFFD'));
  });

  it('does not stall forever on a run of invalid bytes', async () => {
    const t = await loadReal('mistral');
    const stray = t.tokenToId('<0x80>')!; // a UTF-8 continuation byte with nothing before it
    const ids = [315, ...Array(40).fill(stray)];
    const { pieces, tail } = stream(t, ids);
    assert.ok(
      pieces.slice(2, 30).some((p) => p.length > 0),
      'invalid bytes are emitted after a bounded wait',
    );
    assert.equal(pieces.join('') + tail, t.decode(ids));
  });

  it('starts over after flush()', async () => {
    const t = await loadReal('llama3');
    const decoder = new StreamDecoder(t);
    const first = t.encode('one two');
    const second = t.encode(' three');
    const a = first.map((id) => decoder.push(id)).join('') + decoder.flush();
    const b = second.map((id) => decoder.push(id)).join('') + decoder.flush();
    assert.equal(a, 'one two');
    assert.equal(b, ' three');
  });
});
