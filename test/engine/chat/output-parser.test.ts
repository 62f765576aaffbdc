/** parseChatOutput on hand-written outputs of each family (parser-cases.ts), and outputs rendered by real templates. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectChatFormat, writeToolCalls } from '../../../engine/chat/formats.ts';
import { parseChatOutput } from '../../../engine/chat/output-parser.ts';
import { renderChat } from '../../../engine/chat/render.ts';
import { CALL, USER } from './conversation.ts';
import { fullExpected, HERMES_CASES, LLAMA3_CASES, MISTRAL_CASES, pinnedIds } from './parser-cases.ts';
import { loadChatModel } from './real-templates.ts';

for (const [family, cases] of [
  ['hermes (Qwen3)', HERMES_CASES],
  ['llama3', LLAMA3_CASES],
  ['mistral', MISTRAL_CASES],
] as const) {
  describe(`parseChatOutput, ${family}`, () => {
    for (const c of cases) {
      it(c.name, () => {
        assert.deepEqual(parseChatOutput(c.text, pinnedIds(c.options)), fullExpected(c.expected));
      });
    }
  });
}

describe('parseChatOutput ids', () => {
  it('makes call_ ids, and 9-character ids for Mistral', () => {
    const hermes = parseChatOutput('<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>', {
      toolCalls: 'hermes',
    });
    assert.match(hermes.toolCalls[0].id, /^call_[A-Za-z0-9]{24}$/);
    const mistral = parseChatOutput('[TOOL_CALLS] [{"name": "f", "arguments": {}}]', { toolCalls: 'mistral' });
    assert.match(mistral.toolCalls[0].id, /^[A-Za-z0-9]{9}$/);
  });
});

describe('a call as the real template writes it parses back to the same call', () => {
  const args = '{"city":"Zürich"}';
  for (const model of ['qwen3', 'llama3.1', 'llama3.2', 'mistral-v0.3'] as const) {
    it(model, async () => {
      const t = await loadChatModel(model);
      const format = detectChatFormat(t.chatTemplate);
      assert.ok(format.toolCalls);
      // The assistant turn, cut out of the rendered history between the prompt's end and the turn's end token.
      const prompt = renderChat(t, [USER]);
      const history = renderChat(t, [USER, CALL], { addGenerationPrompt: false });
      const turnStart = model === 'mistral-v0.3' ? history.indexOf('[TOOL_CALLS]') : prompt.length;
      const turn = history.slice(turnStart).replace(/(<\|im_end\|>\n|<\|eot_id\|>|<\/s>)$/, '');
      // Less the last two characters: Mistral's history adds the call's id before "}]".
      const written = writeToolCalls(format.toolCalls, [{ name: 'get_weather', arguments: '{"city": "Zürich"}' }]);
      assert.ok(turn.includes(written.slice(0, -2)), turn);
      const parsed = parseChatOutput(turn, { toolCalls: format.toolCalls, reasoning: format.reasoning });
      assert.deepEqual(
        parsed.toolCalls.map(({ name, arguments: a }) => ({ name, arguments: a })),
        [{ name: 'get_weather', arguments: args }],
        turn,
      );
      assert.equal(parsed.content, '');
      assert.deepEqual(parsed.malformedToolCalls, []);
    });
  }
});
