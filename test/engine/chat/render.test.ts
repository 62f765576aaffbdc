/**
 * renderChat against the real templates of Qwen3, Llama 3.1/3.2 Instruct and Mistral 7B Instruct v0.3: tools where
 * each family lists them, an earlier call written the way the model writes calls, and the tool's result in its own
 * turn. Expected text follows each template by hand (and, for the parts shared with the tokenizer's tests, what
 * transformers renders).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promptEndsInReasoning, writeToolCalls } from '../../../engine/chat/formats.ts';
import { ChatMessageError, type ChatRequestMessage } from '../../../engine/chat/messages.ts';
import { renderChat } from '../../../engine/chat/render.ts';
import { ChatTemplateError } from '../../../engine/tokenizer/errors.ts';
import { strftime } from '../../../engine/tokenizer/strftime.ts';
import { CALL, RESULT, SYSTEM, TIME_TOOL, TOOL_TURN, USER, WEATHER_TOOL } from './conversation.ts';
import { loadChatModel } from './real-templates.ts';

const WEATHER_JSON =
  '{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city", ' +
  '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}';
const TIME_JSON =
  '{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}';

describe('renderChat with Qwen3', () => {
  const im = (role: string, text: string) => `<|im_start|>${role}\n${text}<|im_end|>\n`;
  const toolsSystem =
    'You are a weather bot.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
    `You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n${WEATHER_JSON}\n` +
    `${TIME_JSON}\n</tools>\n\nFor each function call, return a json object with function name and arguments ` +
    'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": ' +
    '<args-json-object>}\n</tool_call>';

  it('lists the tools in the system turn, writes the call as the model does, and the result as a user turn', async () => {
    const t = await loadChatModel('qwen3');
    const call = writeToolCalls('hermes', [{ name: 'get_weather', arguments: '{"city": "Zürich"}' }]);
    assert.equal(call, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>');
    assert.equal(
      renderChat(t, TOOL_TURN, { tools: [WEATHER_TOOL, TIME_TOOL] }),
      im('system', toolsSystem) +
        im('user', 'Weather in Zürich? 🌦') +
        im('assistant', call) +
        im('user', '<tool_response>\n{"temp_c": 21}\n</tool_response>') +
        '<|im_start|>assistant\n',
    );
  });

  it('puts several results of parallel calls in one user turn, in order', async () => {
    const t = await loadChatModel('qwen3');
    const calls = {
      ...CALL,
      content: 'Checking both.',
      tool_calls: [
        { id: 'c1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city": "Zürich"}' } },
        { id: 'c2', type: 'function' as const, function: { name: 'get_time', arguments: '{}' } },
      ],
    };
    const rendered = renderChat(t, [
      USER,
      calls,
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: '12:00' }] },
    ]);
    const written = writeToolCalls('hermes', [
      { name: 'get_weather', arguments: '{"city": "Zürich"}' },
      { name: 'get_time', arguments: '{}' },
    ]);
    assert.ok(rendered.includes(im('assistant', `Checking both.\n${written}`)), rendered);
    assert.ok(
      rendered.endsWith(
        im('user', '<tool_response>\nsunny\n</tool_response>\n<tool_response>\n12:00\n</tool_response>') +
          '<|im_start|>assistant\n',
      ),
    );
  });

  it('shows the reasoning of a turn after the last user message, and drops it before', async () => {
    const t = await loadChatModel('qwen3');
    const thinking = { ...CALL, reasoning: 'The tool knows.' };
    const rendered = renderChat(t, [USER, thinking, RESULT]);
    assert.ok(
      rendered.includes('<|im_start|>assistant\n<think>\nThe tool knows.\n</think>\n\n<tool_call>\n'),
      rendered,
    );
    const earlier = renderChat(t, [USER, { role: 'assistant', content: 'Sunny.', reasoning: 'Old thought.' }, USER]);
    assert.ok(!earlier.includes('Old thought.'));
    assert.ok(earlier.includes(im('assistant', 'Sunny.')));
  });

  it('passes enable_thinking: false closes an empty think block, so the output does not start in reasoning', async () => {
    const t = await loadChatModel('qwen3');
    const off = renderChat(t, [USER], { enableThinking: false });
    assert.ok(off.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n'));
    assert.equal(promptEndsInReasoning(off), false);
    const on = renderChat(t, [USER], { enableThinking: true });
    assert.ok(on.endsWith('<|im_start|>assistant\n'));
    assert.equal(promptEndsInReasoning(on), false);
    assert.equal(renderChat(t, [USER]), on);
    assert.equal(renderChat(t, [USER], { addGenerationPrompt: false }), im('user', 'Weather in Zürich? 🌦'));
  });

  it('renders developer as system and joins text parts; no tools for an empty tool list', async () => {
    const t = await loadChatModel('qwen3');
    const rendered = renderChat(
      t,
      [
        { role: 'developer', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
      { tools: [] },
    );
    assert.equal(rendered, `${im('system', 'Be brief.')}${im('user', 'a\nb')}<|im_start|>assistant\n`);
  });

  it('fails with the field when arguments are not JSON', async () => {
    const t = await loadChatModel('qwen3');
    const bad = {
      ...CALL,
      tool_calls: [{ id: 'c', type: 'function' as const, function: { name: 'f', arguments: 'x' } }],
    };
    assert.throws(
      () => renderChat(t, [USER, bad]),
      (e: unknown) => e instanceof ChatMessageError && e.field === 'messages[1].tool_calls[0].function.arguments',
    );
  });
});

describe('renderChat with Llama 3.1 and 3.2 Instruct', () => {
  const header = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
  const indented = (tool: typeof WEATHER_TOOL) =>
    JSON.stringify(
      { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } },
      null,
      4,
    );
  const expected = (date: string) =>
    `<|begin_of_text|>${header('system')}Environment: ipython\nCutting Knowledge Date: December 2023\n` +
    `Today Date: ${date}\n\nYou are a weather bot.<|eot_id|>` +
    `${header('user')}Given the following functions, please respond with a JSON for a function call with its proper ` +
    'arguments that best answers the given prompt.\n\nRespond in the format {"name": function name, "parameters": ' +
    `dictionary of argument name and its value}.Do not use variables.\n\n${indented(WEATHER_TOOL)}\n\n` +
    'Weather in Zürich? 🌦<|eot_id|>' +
    `${header('assistant')}{"name": "get_weather", "parameters": {"city": "Zürich"}}<|eot_id|>` +
    // The template JSON-quotes a string result (a string "is iterable" in Jinja), as transformers renders it.
    `${header('ipython')}"{\\"temp_c\\": 21}"<|eot_id|>` +
    header('assistant');

  for (const model of ['llama3.1', 'llama3.2'] as const) {
    it(`${model}: tools in the first user turn, the call as JSON with "parameters", the result as ipython`, async () => {
      const t = await loadChatModel(model);
      const rendered = renderChat(t, TOOL_TURN, { tools: [WEATHER_TOOL], extra: { date_string: '26 Jul 2024' } });
      assert.equal(rendered, expected('26 Jul 2024'));
      const call = writeToolCalls('llama3', [{ name: 'get_weather', arguments: '{"city": "Zürich"}' }]);
      assert.ok(rendered.includes(`${header('assistant')}${call}<|eot_id|>`));
    });

    it(`${model}: raises for two calls in one turn (the template's own rule)`, async () => {
      const t = await loadChatModel(model);
      const two = { ...CALL, tool_calls: [CALL.tool_calls![0], { ...CALL.tool_calls![0], id: 'call_2' }] };
      assert.throws(
        () => renderChat(t, [USER, two], { tools: [WEATHER_TOOL] }),
        (e: unknown) => e instanceof ChatTemplateError && /only supports single tool-calls/.test(e.message),
      );
    });
  }

  it('llama3.2 dates the prompt today unless date_string is given; llama3.1 says 26 Jul 2024', async () => {
    const today = strftime(new Date(), '%d %b %Y');
    assert.equal(renderChat(await loadChatModel('llama3.2'), TOOL_TURN, { tools: [WEATHER_TOOL] }), expected(today));
    assert.equal(
      renderChat(await loadChatModel('llama3.1'), TOOL_TURN, { tools: [WEATHER_TOOL] }),
      expected('26 Jul 2024'),
    );
  });

  it('renders a plain chat with no tool text, an assistant reply as an ordinary turn', async () => {
    const t = await loadChatModel('llama3.1');
    const reply: ChatRequestMessage = { role: 'assistant', content: [{ type: 'text', text: ' Sunny, 21 °C. ' }] };
    assert.equal(
      renderChat(t, [SYSTEM, USER, reply, { role: 'user', content: 'Thanks' }]),
      `<|begin_of_text|>${header('system')}Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n` +
        `You are a weather bot.<|eot_id|>${header('user')}Weather in Zürich? 🌦<|eot_id|>` +
        `${header('assistant')}Sunny, 21 °C.<|eot_id|>${header('user')}Thanks<|eot_id|>${header('assistant')}`,
    );
  });
});

describe('renderChat with Mistral 7B Instruct v0.3', () => {
  const available = `[AVAILABLE_TOOLS] [${WEATHER_JSON}][/AVAILABLE_TOOLS]`;

  it('lists tools before the last user turn and writes the call and its result with the same 9-character id', async () => {
    const t = await loadChatModel('mistral-v0.3');
    const rendered = renderChat(t, TOOL_TURN, { tools: [WEATHER_TOOL] });
    const id = /"id": "([A-Za-z0-9]{9})"/.exec(rendered)?.[1];
    assert.ok(id, rendered);
    // The template drops the system message when the last turn is not the user's (it adds it to the last user turn).
    assert.equal(
      rendered,
      `<s>${available}[INST] Weather in Zürich? 🌦[/INST]` +
        `[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}, "id": "${id}"}]</s>` +
        `[TOOL_RESULTS] {"content": {"temp_c": 21}, "call_id": "${id}"}[/TOOL_RESULTS]`,
    );
    const written = writeToolCalls('mistral', [{ name: 'get_weather', arguments: '{"city": "Zürich"}' }]);
    assert.ok(rendered.includes(written.slice(0, -2)), `${written} in ${rendered}`); // less "}]": the id follows
    assert.equal(renderChat(t, TOOL_TURN, { tools: [WEATHER_TOOL] }), rendered); // the id is stable
  });

  it('without fitting, the template itself refuses an OpenAI-style id', async () => {
    const t = await loadChatModel('mistral-v0.3');
    const messages = [
      { role: 'user' as const, content: 'Hi' },
      {
        role: 'assistant' as const,
        content: '',
        tool_calls: [{ id: 'call_abc123', type: 'function' as const, function: { name: 'f', arguments: {} } }],
      },
    ];
    assert.throws(
      () => t.applyChatTemplate(messages),
      (e: unknown) => e instanceof ChatTemplateError && /Tool call IDs should be alphanumeric/.test(e.message),
    );
  });

  it('puts the system message and the tools in the last user turn of a longer chat', async () => {
    const t = await loadChatModel('mistral-v0.3');
    const rendered = renderChat(
      t,
      [...TOOL_TURN, { role: 'assistant', content: 'It is 21 °C.' }, { role: 'user', content: 'Thanks!' }],
      { tools: [WEATHER_TOOL] },
    );
    assert.ok(rendered.startsWith('<s>[INST] Weather in Zürich? 🌦[/INST][TOOL_CALLS] ['), rendered);
    assert.ok(
      rendered.endsWith(`[/TOOL_RESULTS] It is 21 °C.</s>${available}[INST] You are a weather bot.\n\nThanks![/INST]`),
      rendered,
    );
  });

  it('raises when roles do not alternate (the template rule), as a ChatTemplateError', async () => {
    const t = await loadChatModel('mistral-v0.3');
    assert.throws(() => renderChat(t, [USER, USER]), ChatTemplateError);
  });
});
