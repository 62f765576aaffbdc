/**
 * ChatOutputParser as text streams in: what is held back and when it comes out, OpenAI's delta shape, and the
 * property that streamed deltas joined equal the one-shot parse wherever the text is split.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChatOutputParser,
  type OutputDelta,
  type OutputParserOptions,
  type ParsedOutput,
  parseChatOutput,
} from '../../../engine/chat/output-parser.ts';
import { Rng } from '../../helpers/random.ts';
import { ALL_CASES, fullExpected, pinnedIds } from './parser-cases.ts';

/** Streams `pieces` and joins the deltas as an OpenAI client does, checking each delta's shape on the way. */
function stream(pieces: readonly string[], options: OutputParserOptions): ParsedOutput {
  const parser = new ChatOutputParser(pinnedIds(options));
  const out: ParsedOutput = { content: '', reasoning: '', toolCalls: [], malformedToolCalls: [] };
  const apply = (delta: OutputDelta) => {
    if (delta.content !== undefined) {
      assert.notEqual(delta.content, '', 'no empty content deltas');
      out.content += delta.content;
    }
    if (delta.reasoning !== undefined) out.reasoning += delta.reasoning;
    for (const call of delta.toolCalls ?? []) {
      if (call.id !== undefined) {
        assert.equal(call.index, out.toolCalls.length, 'a new call takes the next index');
        assert.equal(typeof call.name, 'string', 'the first delta of a call names it');
        out.toolCalls.push({ id: call.id, name: call.name!, arguments: call.arguments ?? '' });
      } else {
        out.toolCalls[call.index].arguments += call.arguments ?? '';
      }
    }
    out.malformedToolCalls.push(...(delta.malformedToolCalls ?? []));
  };
  for (const piece of pieces) apply(parser.push(piece));
  apply(parser.finish());
  return out;
}

/** `text` cut at `cuts` random code point boundaries (the engine's decoder never splits a code point). */
function randomSplit(text: string, rng: Rng, cuts: number): string[] {
  const chars = Array.from(text);
  const at = new Set(Array.from({ length: cuts }, () => rng.int(0, chars.length)));
  const bounds = [0, ...[...at].sort((a, b) => a - b), chars.length];
  return bounds.slice(1).map((end, i) => chars.slice(bounds[i], end).join(''));
}

describe('streamed deltas equal the one-shot parse', () => {
  it('for every hand-written case, at 60 random split sets, and one character at a time', () => {
    const rng = new Rng(20240726);
    for (const c of ALL_CASES) {
      const whole = parseChatOutput(c.text, pinnedIds(c.options));
      assert.deepEqual(whole, fullExpected(c.expected), c.name);
      assert.deepEqual(stream(Array.from(c.text), c.options), whole, `${c.name}: one character at a time`);
      for (let trial = 0; trial < 60; trial++) {
        const pieces = randomSplit(c.text, rng, rng.int(1, 12));
        assert.deepEqual(stream(pieces, c.options), whole, `${c.name}: split as ${JSON.stringify(pieces)}`);
      }
    }
  });

  it('for random mixes of text, markers, partial markers and calls of each family', () => {
    const calls = [
      '<tool_call>\n{"name": "f", "arguments": {"a": "}"}}\n</tool_call>',
      '{"name": "g", "parameters": {"b": [1, 2]}}',
      '[TOOL_CALLS] [{"name": "h", "arguments": {}}]',
      '[{"name": "h", "arguments": {"k": "v"}}]',
    ];
    const fragments = [
      ...calls,
      ...calls,
      'Hello',
      ' ',
      '\n\n',
      'ünï 日本 😀',
      '<think>',
      '</think>',
      '<thi',
      '</th',
      '<tool_call>\n{"name": "f", "arguments": {"a": "}"}}\n</tool_call>',
      '<tool_call>\n{"name": "f", "arguments": {',
      '</tool_call>',
      '<tool',
      '{"name": "g", "parameters": {"b": [1, 2]}}',
      '{"x": 1}',
      '; ',
      '{',
      '"',
      '<|python_tag|>',
      '<|pyth',
      '[TOOL_CALLS] [{"name": "h", "arguments": {}}]',
      '[TOOL_CALLS]',
      '[TOOL_C',
      '[',
      '[{"name": "h", "arguments": {"k": "v"}}]',
      ']',
      '}',
    ];
    const optionSets: OutputParserOptions[] = [
      { toolCalls: 'hermes', reasoning: true },
      { toolCalls: 'hermes', reasoning: true, startsInReasoning: true },
      { toolCalls: 'llama3' },
      { toolCalls: 'llama3', reasoning: true },
      { toolCalls: 'mistral' },
      { reasoning: true },
      {},
    ];
    const rng = new Rng(7);
    for (let trial = 0; trial < 3000; trial++) {
      const text = Array.from({ length: rng.int(1, 10) }, () => rng.pick(fragments)).join('');
      const options = rng.pick(optionSets);
      const whole = parseChatOutput(text, pinnedIds(options));
      const pieces = randomSplit(text, rng, rng.int(1, 20));
      const where = `${JSON.stringify(options)} ${JSON.stringify(pieces)}`;
      assert.deepEqual(stream(pieces, options), whole, where);
      // Never lost: every non-space character of the output is in the content, the reasoning or a call.
      const kept = whole.content + whole.reasoning + whole.toolCalls.map((c) => c.name + c.arguments).join('');
      if (whole.toolCalls.length === 0 && !text.includes('<think>') && !text.includes('</think>')) {
        assert.equal(strip(kept), strip(text), where);
      }
    }
  });
});

function strip(text: string): string {
  return text.replace(/[ \t\r\n]/g, '');
}

describe('what the stream holds back', () => {
  it('holds the start of a call marker until it is known, and a call until it is complete', () => {
    const p = new ChatOutputParser(pinnedIds({ toolCalls: 'hermes' }));
    assert.deepEqual(p.push('Hello <b> <tool'), { content: 'Hello <b>' });
    assert.deepEqual(p.push('_call>\n{"name": "get_time", '), {});
    assert.deepEqual(p.push('"arguments": {}}\n</tool_'), {});
    assert.deepEqual(p.push('call>'), { toolCalls: [{ index: 0, id: 'id0', name: 'get_time', arguments: '{}' }] });
    assert.deepEqual(p.push('\nAnd'), { content: '\nAnd' });
    assert.deepEqual(p.finish(), {});
  });

  it('lets go of text that turns out not to be a marker', () => {
    const p = new ChatOutputParser({ toolCalls: 'hermes' });
    assert.deepEqual(p.push('a <tool'), { content: 'a' });
    assert.deepEqual(p.push('box'), { content: ' <toolbox' });
    assert.deepEqual(p.push(' <tool_cal'), {});
    assert.deepEqual(p.finish(), { content: ' <tool_cal' });
  });

  it('streams reasoning as it comes, and switches to content at </think>', () => {
    const p = new ChatOutputParser({ reasoning: true });
    assert.deepEqual(p.push('<thi'), {});
    assert.deepEqual(p.push('nk>\nHmm'), { reasoning: 'Hmm' });
    assert.deepEqual(p.push(', fine.\n</th'), { reasoning: ', fine.' });
    assert.deepEqual(p.push('ink>\n\n'), {});
    assert.deepEqual(p.push('OK'), { content: 'OK' });
  });

  it('holds a bare Llama call, but not text', () => {
    const p = new ChatOutputParser(pinnedIds({ toolCalls: 'llama3' }));
    assert.deepEqual(p.push('{"na'), {});
    assert.deepEqual(p.push('me": "f", "parameters": {"x": "é"}}'), {
      toolCalls: [{ index: 0, id: 'id0', name: 'f', arguments: '{"x":"é"}' }],
    });
    const text = new ChatOutputParser({ toolCalls: 'llama3' });
    assert.deepEqual(text.push('Sure'), { content: 'Sure' });
  });

  it("waits for the character after Mistral's [ and flags a broken call when it ends", () => {
    const p = new ChatOutputParser({ toolCalls: 'mistral' });
    assert.deepEqual(p.push('['), {});
    assert.deepEqual(p.push('1, 2] and'), { content: '[1, 2] and' });
    const q = new ChatOutputParser({ toolCalls: 'mistral' });
    assert.deepEqual(q.push('[TOOL_CALLS] [{"name": "f", "arg'), {});
    assert.deepEqual(q.finish(), {
      content: '[TOOL_CALLS] [{"name": "f", "arg',
      malformedToolCalls: ['[TOOL_CALLS] [{"name": "f", "arg'],
    });
  });

  it('refuses text after finish', () => {
    const p = new ChatOutputParser();
    p.push('a');
    p.finish();
    assert.throws(() => p.push('b'), /after finish/);
    assert.deepEqual(p.result(), { content: 'a', reasoning: '', toolCalls: [], malformedToolCalls: [] });
  });
});
