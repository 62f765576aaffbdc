/** Each family's tool-call format and reasoning, read off its real chat template. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  detectChatFormat,
  promptEndsInReasoning,
  TOOL_CALL_SYNTAX,
  writeToolCalls,
} from '../../../engine/chat/formats.ts';
import { loadReal } from '../tokenizer/real-tokenizers.ts';
import { LLAMA_3_1_INSTRUCT, LLAMA_3_2_INSTRUCT, loadChatModel, MISTRAL_7B_INSTRUCT_V0_3 } from './real-templates.ts';

describe('detectChatFormat', () => {
  it('reads hermes calls and <think> reasoning off Qwen3', async () => {
    const qwen3 = await loadChatModel('qwen3');
    assert.deepEqual(detectChatFormat(qwen3.chatTemplate), { toolCalls: 'hermes', reasoning: true });
  });

  it('reads JSON calls with "parameters" off Llama 3.1 and 3.2, with no reasoning', () => {
    assert.deepEqual(detectChatFormat(LLAMA_3_1_INSTRUCT), { toolCalls: 'llama3', reasoning: false });
    assert.deepEqual(detectChatFormat(LLAMA_3_2_INSTRUCT), { toolCalls: 'llama3', reasoning: false });
  });

  it("reads [TOOL_CALLS] and the 9-character ids off Mistral v0.3's template", () => {
    assert.deepEqual(detectChatFormat(MISTRAL_7B_INSTRUCT_V0_3), {
      toolCalls: 'mistral',
      reasoning: false,
      toolCallIdLength: 9,
    });
  });

  it('finds no tool calls in a template without tools, unless the model type is Qwen', async () => {
    const base = await loadReal('llama3'); // Llama 3 base: a chat template with no tools
    assert.deepEqual(detectChatFormat(base.chatTemplate), { reasoning: false });
    assert.deepEqual(detectChatFormat(base.chatTemplate, 'llama'), { reasoning: false });
    assert.deepEqual(detectChatFormat(undefined), { reasoning: false });
    assert.deepEqual(detectChatFormat(base.chatTemplate, 'qwen2'), { toolCalls: 'hermes', reasoning: false });
  });

  it("reads reasoning off a DeepSeek-R1 distill's template, which splits content on </think>", () => {
    const r1 =
      "{% for message in messages %}{% if message['role'] == 'assistant' %}{% set content = message['content'] %}" +
      "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}" +
      "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{% endif %}{% endfor %}" +
      "{% if add_generation_prompt %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";
    assert.deepEqual(detectChatFormat(r1), { reasoning: true });
  });
});

describe('promptEndsInReasoning', () => {
  it('is true only when the prompt ends in an open think block', () => {
    assert.equal(promptEndsInReasoning('<｜User｜>Hi<｜Assistant｜><think>\n'), true);
    assert.equal(promptEndsInReasoning('<|im_start|>assistant\n<think>'), true);
    assert.equal(promptEndsInReasoning('<|im_start|>assistant\n<think>\n\n</think>\n\n'), false);
    assert.equal(promptEndsInReasoning('<|im_start|>assistant\n'), false);
    assert.equal(promptEndsInReasoning('user wrote <think> here<|im_end|>\n<|im_start|>assistant\n'), false);
  });
});

describe('writeToolCalls', () => {
  const calls = [
    { name: 'get_weather', arguments: '{"city": "Zürich"}' },
    { name: 'get_time', arguments: '{}' },
  ];

  it("writes each family's exact markers", () => {
    assert.equal(
      writeToolCalls('hermes', calls),
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>\n' +
        '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    );
    assert.equal(
      writeToolCalls('llama3', calls),
      '{"name": "get_weather", "parameters": {"city": "Zürich"}}; {"name": "get_time", "parameters": {}}',
    );
    assert.equal(
      writeToolCalls('mistral', calls),
      '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}}, {"name": "get_time", "arguments": {}}]',
    );
  });

  it('escapes a name as JSON', () => {
    assert.equal(TOOL_CALL_SYNTAX.llama3.argumentsKey, 'parameters');
    assert.equal(writeToolCalls('llama3', [{ name: 'a"b', arguments: '{}' }]), '{"name": "a\\"b", "parameters": {}}');
  });
});
