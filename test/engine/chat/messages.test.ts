/** Request messages into what chat templates read: content joined, roles mapped, tool call arguments parsed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatMessageError, type ChatRequestMessage, toTemplateMessages } from '../../../engine/chat/messages.ts';
import { fitToolCallId, newToolCallId } from '../../../engine/chat/tool-call-ids.ts';
import { InvalidRequestError } from '../../../engine/serving/errors.ts';

const CALL = {
  id: 'call_abc123',
  type: 'function' as const,
  function: { name: 'get_weather', arguments: '{"city": "Zürich", "days": [1, 2]}' },
};

describe('toTemplateMessages', () => {
  it('joins text parts with newlines and renders developer as system', () => {
    const out = toTemplateMessages([
      { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Line one' },
          { type: 'text', text: 'Line two 日本語' },
        ],
        name: 'ana',
      },
    ]);
    assert.deepEqual(out, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Line one\nLine two 日本語', name: 'ana' },
    ]);
  });

  it('parses tool call arguments into objects, keeping their key order, and makes null content ""', () => {
    const [assistant] = toTemplateMessages([{ role: 'assistant', content: null, tool_calls: [CALL] }]);
    assert.deepEqual(assistant, {
      role: 'assistant',
      content: '',
      tool_calls: [
        {
          id: 'call_abc123',
          type: 'function',
          function: { name: 'get_weather', arguments: { city: 'Zürich', days: [1, 2] } },
        },
      ],
    });
    assert.deepEqual(Object.keys(assistant.tool_calls![0].function.arguments), ['city', 'days']);
  });

  it('leaves tool_calls out when there are none, even for an empty list', () => {
    const out = toTemplateMessages([
      { role: 'assistant', content: 'Hi' },
      { role: 'assistant', content: 'Hi', tool_calls: [] },
    ]);
    for (const message of out) assert.equal('tool_calls' in message, false);
  });

  it('passes reasoning as reasoning_content, and gives a tool message the name of the tool it answers', () => {
    const out = toTemplateMessages([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', reasoning: 'Need the tool.', tool_calls: [CALL] },
      { role: 'tool', tool_call_id: 'call_abc123', content: [{ type: 'text', text: '{"temp": 21}' }] },
      { role: 'tool', tool_call_id: 'call_unknown', content: 'orphan' },
    ]);
    assert.equal(out[1].reasoning_content, 'Need the tool.');
    assert.deepEqual(out[2], {
      role: 'tool',
      content: '{"temp": 21}',
      tool_call_id: 'call_abc123',
      name: 'get_weather',
    });
    assert.deepEqual(out[3], { role: 'tool', content: 'orphan', tool_call_id: 'call_unknown' });
  });

  it('names the field of arguments that are not JSON, as an InvalidRequestError', () => {
    const messages: ChatRequestMessage[] = [
      { role: 'user', content: 'Hi' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [CALL, { ...CALL, function: { name: 'f', arguments: '{"a": ' } }],
      },
    ];
    assert.throws(
      () => toTemplateMessages(messages),
      (e: unknown) => {
        assert.ok(e instanceof ChatMessageError);
        assert.ok(e instanceof InvalidRequestError);
        assert.equal(e.name, 'ChatMessageError');
        assert.equal(e.field, 'messages[1].tool_calls[1].function.arguments');
        assert.match(e.message, /^messages\[1\]\.tool_calls\[1\]\.function\.arguments: is not valid JSON/);
        assert.match(e.message, /"\{\\"a\\": "$/);
        return true;
      },
    );
  });

  it('refuses arguments that are JSON but not an object', () => {
    for (const [text, kind] of [
      ['[1, 2]', 'an array'],
      ['"x"', 'a string'],
      ['null', 'null'],
      ['3', 'a number'],
    ]) {
      const messages: ChatRequestMessage[] = [
        { role: 'assistant', tool_calls: [{ ...CALL, function: { name: 'f', arguments: text } }] },
      ];
      assert.throws(
        () => toTemplateMessages(messages),
        (e: unknown) =>
          e instanceof ChatMessageError &&
          e.field === 'messages[0].tool_calls[0].function.arguments' &&
          e.message.includes(`must be a JSON object, not ${kind}`),
      );
    }
  });

  it('refuses a content part that is not text, naming it', () => {
    const part = { type: 'image_url', image_url: { url: 'x' } } as unknown as { type: 'text'; text: string };
    assert.throws(
      () => toTemplateMessages([{ role: 'user', content: [{ type: 'text', text: 'a' }, part] }]),
      (e: unknown) =>
        e instanceof ChatMessageError && e.field === 'messages[0].content[1]' && /image_url/.test(e.message),
    );
  });

  it('fits tool call ids to a required length, the same in the call and in its answer', () => {
    const out = toTemplateMessages(
      [
        { role: 'assistant', tool_calls: [CALL, { ...CALL, id: 'Ab3dE6gH9' }] },
        { role: 'tool', tool_call_id: 'call_abc123', content: 'r1' },
        { role: 'tool', tool_call_id: 'Ab3dE6gH9', content: 'r2' },
      ],
      { toolCallIdLength: 9 },
    );
    const [first, second] = out[0].tool_calls!.map((c) => c.id);
    assert.match(first, /^[A-Za-z0-9]{9}$/);
    assert.equal(second, 'Ab3dE6gH9'); // already 9 letters and digits: kept
    assert.equal(out[1].tool_call_id, first);
    assert.equal(out[2].tool_call_id, 'Ab3dE6gH9');
  });
});

describe('tool call ids', () => {
  it('fits ids stably, and different ids to different ids', () => {
    assert.equal(fitToolCallId('call_abc123', 9), fitToolCallId('call_abc123', 9));
    assert.notEqual(fitToolCallId('call_abc123', 9), fitToolCallId('call_abc124', 9));
    assert.equal(fitToolCallId('call_12!', 9).length, 9);
    assert.match(fitToolCallId('abc-def-g', 9), /^[A-Za-z0-9]{9}$/); // 9 long but not alphanumeric
  });

  it('makes OpenAI-shaped ids, and 9-character ids for Mistral', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newToolCallId('hermes')));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^call_[A-Za-z0-9]{24}$/);
    assert.match(newToolCallId('llama3'), /^call_[A-Za-z0-9]{24}$/);
    assert.match(newToolCallId(), /^call_[A-Za-z0-9]{24}$/);
    assert.match(newToolCallId('mistral'), /^[A-Za-z0-9]{9}$/);
  });
});
