/** Needle documents: the key is where the depth says, the prompt stays within its token budget, answers are judged. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SamplingRng } from '../../../../engine/generation/rng.ts';
import { factsDocument, Haystack, isCorrect, passKeyDocument, randomDigits } from '../../../../main/cli/eval/needle.ts';

// A word-count tokenizer stands in for a real one: the builder only needs a consistent count.
const count = (t: string) => t.split(/\s+/).filter(Boolean).length;
const filler = Array.from(
  { length: 400 },
  (_, i) => `Sentence number ${i} is here to fill the haystack with words. Another one follows it!`,
).join(' ');

describe('needle documents', () => {
  const haystack = new Haystack(filler, count);

  it('hides the pass key at the asked depth and ends with the question', () => {
    for (const depth of [0, 0.25, 0.5, 0.75, 1]) {
      const rng = new SamplingRng(7);
      const doc = passKeyDocument(haystack, count, rng, { tokens: 600, depth });
      assert.match(doc.answer, /^[1-9]\d{4}$/);
      assert.ok(doc.prompt.endsWith('\nWhat is the pass key? The pass key is'), doc.prompt.slice(-60));
      assert.equal(doc.prompt, `${doc.context}\n${doc.question} ${doc.answerPrefix}`);
      const needle = doc.prompt.indexOf(`The pass key is ${doc.answer}.`);
      assert.ok(needle > 0, 'the needle is in the prompt');
      const bodyStart = doc.prompt.indexOf('I will quiz you about it.') + 25;
      const bodyEnd = doc.prompt.lastIndexOf('\nWhat is the pass key?');
      const at = (needle - bodyStart) / (bodyEnd - bodyStart);
      assert.ok(Math.abs(at - depth) < 0.08, `depth ${depth}: needle at ${at.toFixed(3)}`);
      assert.ok(count(doc.prompt) <= 600, `${count(doc.prompt)} words for a budget of 600`);
      assert.ok(count(doc.prompt) >= 560, `${count(doc.prompt)} words: the filler fills the budget`);
    }
  });

  it('hides several facts and asks for one of them', () => {
    const rng = new SamplingRng(3);
    const names = ['apple', 'river', 'lantern', 'garden', 'window'];
    const doc = factsDocument(haystack, count, rng, { tokens: 500, names, facts: 4, digits: 4 });
    const facts = [...doc.prompt.matchAll(/The special magic number for (\w+) is (\d+)\./g)];
    assert.equal(facts.length, 4);
    const asked = /What is the special magic number for (\w+)\?/.exec(doc.prompt)![1];
    assert.equal(facts.find((f) => f[1] === asked)![2], doc.answer);
    assert.ok(doc.prompt.endsWith(`The special magic number for ${asked} is`));
  });

  it('is deterministic for a seed and varies with it', () => {
    const a = passKeyDocument(haystack, count, new SamplingRng(1), { tokens: 300 });
    const b = passKeyDocument(haystack, count, new SamplingRng(1), { tokens: 300 });
    const c = passKeyDocument(haystack, count, new SamplingRng(2), { tokens: 300 });
    assert.equal(a.prompt, b.prompt);
    assert.notEqual(a.prompt, c.prompt);
  });

  it('keys have the asked number of digits and never start with 0', () => {
    const rng = new SamplingRng(9);
    for (let i = 0; i < 200; i++)
      assert.match(randomDigits(rng, 3 + (i % 5)), new RegExp(`^[1-9]\\d{${2 + (i % 5)}}$`));
  });

  it('judges answers by their first run of digits', () => {
    assert.ok(isCorrect(' 68231.', '68231'));
    assert.ok(isCorrect(' 68231. Remember it.', '68231'));
    assert.ok(!isCorrect(' 682311', '68231'), 'a longer number is wrong');
    assert.ok(!isCorrect(' 6823', '68231'), 'a prefix is wrong');
    assert.ok(!isCorrect(' is 68231', '68231'), 'words before the number are wrong');
    assert.ok(!isCorrect('', '68231'));
  });

  it('rejects filler too short to draw from', () => {
    assert.throws(() => new Haystack('One. Two.', count), /only 2 sentences/);
  });
});
