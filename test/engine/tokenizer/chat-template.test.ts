/**
 * Chat templates of the real Qwen3 and Llama 3 configs render exactly what transformers renders. Expected strings
 * were produced once with Python's jinja2 set up as transformers sets it up (trim_blocks, lstrip_blocks, its tojson,
 * raise_exception, strftime_now) and the same variables, and read through by hand.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { strftime } from '../../../engine/tokenizer/strftime.ts';
import { type ChatMessage, Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { loadReal, REAL_TOKENIZERS } from './real-tokenizers.ts';

const SYSTEM: ChatMessage = { role: 'system', content: 'You are a helpful assistant.' };
const USER: ChatMessage = { role: 'user', content: 'Hello! What is 2+2?' };
const ASSISTANT: ChatMessage = { role: 'assistant', content: '<think>\nEasy.\n</think>\n\n2+2 = 4.' };
const USER2: ChatMessage = { role: 'user', content: 'And 3+3?' };

describe('Qwen3 chat template', () => {
  const userTurn = '<|im_start|>user\nHello! What is 2+2?<|im_end|>\n';
  const systemTurn = '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n';
  const prompt = '<|im_start|>assistant\n';

  it('renders a user message, with and without the generation prompt', async () => {
    const t = await loadReal('qwen3');
    assert.equal(t.applyChatTemplate([USER]), userTurn);
    assert.equal(t.applyChatTemplate([USER], { addGenerationPrompt: true }), userTurn + prompt);
  });

  it('renders a system message first, with and without the generation prompt', async () => {
    const t = await loadReal('qwen3');
    assert.equal(t.applyChatTemplate([SYSTEM, USER]), systemTurn + userTurn);
    assert.equal(t.applyChatTemplate([SYSTEM, USER], { addGenerationPrompt: true }), systemTurn + userTurn + prompt);
  });

  it('drops the reasoning of earlier assistant turns', async () => {
    const t = await loadReal('qwen3');
    const history =
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nHello! What is 2+2?<|im_end|>\n' +
      '<|im_start|>assistant\n2+2 = 4.<|im_end|>\n' +
      '<|im_start|>user\nAnd 3+3?<|im_end|>\n';
    assert.equal(t.applyChatTemplate([SYSTEM, USER, ASSISTANT, USER2]), history);
    assert.equal(
      t.applyChatTemplate([SYSTEM, USER, ASSISTANT, USER2], { addGenerationPrompt: true }),
      history + prompt,
    );
  });

  it('opens an empty think block when enable_thinking is false', async () => {
    const t = await loadReal('qwen3');
    const rendered = t.applyChatTemplate([USER], { addGenerationPrompt: true, extra: { enable_thinking: false } });
    assert.equal(rendered, `${userTurn}${prompt}<think>\n\n</think>\n\n`);
    const thinking = t.applyChatTemplate([USER], { addGenerationPrompt: true, extra: { enable_thinking: true } });
    assert.equal(thinking, userTurn + prompt);
  });

  it('lists tools as JSON the way Python json.dumps writes it', async () => {
    const t = await loadReal('qwen3');
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string', description: 'City name, e.g. Zürich' } },
            required: ['city'],
          },
        },
      },
    ];
    const expected =
      '<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist ' +
      'with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
      '{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": ' +
      '{"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"}}, ' +
      '"required": ["city"]}}}\n</tools>\n\nFor each function call, return a json object with function name and ' +
      'arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": ' +
      '<args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nHello! What is 2+2?<|im_end|>\n' +
      '<|im_start|>assistant\n';
    assert.equal(t.applyChatTemplate([SYSTEM, USER], { addGenerationPrompt: true, tools }), expected);
  });

  it('renders text whose special tokens encode to the ids of <|im_start|> and <|im_end|>', async () => {
    const t = await loadReal('qwen3');
    const ids = t.encode(t.applyChatTemplate([USER], { addGenerationPrompt: true }), { addSpecialTokens: false });
    assert.equal(ids[0], t.tokenToId('<|im_start|>'));
    assert.equal(ids.filter((id) => id === 151645).length, 1); // one <|im_end|>
  });
});

describe('Llama 3 chat template', () => {
  const bos = '<|begin_of_text|>';
  const header = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
  const userTurn = `${header('user')}Hello! What is 2+2?<|eot_id|>`;
  const systemTurn = `${header('system')}You are a helpful assistant.<|eot_id|>`;

  // This is the base Llama 3 config's template: it opens the assistant turn whether or not it is asked to.
  it('renders a user message with bos_token from the config, with and without the generation prompt', async () => {
    const t = await loadReal('llama3');
    const expected = bos + userTurn + header('assistant');
    assert.equal(t.applyChatTemplate([USER]), expected);
    assert.equal(t.applyChatTemplate([USER], { addGenerationPrompt: true }), expected);
  });

  it('renders a system message first, with and without the generation prompt', async () => {
    const t = await loadReal('llama3');
    const expected = bos + systemTurn + userTurn + header('assistant');
    assert.equal(t.applyChatTemplate([SYSTEM, USER]), expected);
    assert.equal(t.applyChatTemplate([SYSTEM, USER], { addGenerationPrompt: true }), expected);
  });

  it('trims message content and keeps earlier assistant turns as written', async () => {
    const t = await loadReal('llama3');
    assert.equal(
      t.applyChatTemplate([{ role: 'user', content: '  padded\n ' }]),
      `${bos}${header('user')}padded<|eot_id|>${header('assistant')}`,
    );
    assert.equal(
      t.applyChatTemplate([SYSTEM, USER, ASSISTANT, USER2], { addGenerationPrompt: true }),
      bos +
        systemTurn +
        userTurn +
        `${header('assistant')}<think>\nEasy.\n</think>\n\n2+2 = 4.<|eot_id|>` +
        `${header('user')}And 3+3?<|eot_id|>` +
        header('assistant'),
    );
  });
});

/** The system header of Llama 3.1's template, which dates the prompt with date_string or strftime_now. */
const DATED_TEMPLATE = `{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = strftime_now("%d %b %Y") %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
`;

describe('a dated template (Llama 3.1 style)', async () => {
  const dir = REAL_TOKENIZERS.llama3;
  const tokenizerJson = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'));
  const t = Tokenizer.fromJson(tokenizerJson, { ...config, chat_template: DATED_TEMPLATE }, 'llama3.1-style');
  const messages: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
  ];
  const rendered = (date: string, prompt: boolean) =>
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n' +
    `Today Date: ${date}\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>` +
    (prompt ? '<|start_header_id|>assistant<|end_header_id|>\n\n' : '');

  it('is pinned by date_string in extra', () => {
    const options = { addGenerationPrompt: true, extra: { date_string: '26 Jul 2024' } };
    assert.equal(t.applyChatTemplate(messages, options), rendered('26 Jul 2024', true));
  });

  it("is pinned by replacing strftime_now, and otherwise uses today's date", () => {
    const fixed = { strftime_now: (format: string) => strftime(new Date(2024, 6, 26, 9, 5), format) };
    assert.equal(t.applyChatTemplate(messages, { extra: fixed }), rendered('26 Jul 2024', false));
    const today = strftime(new Date(), '%d %b %Y');
    assert.equal(t.applyChatTemplate(messages), rendered(today, false));
  });
});

describe('strftime (for strftime_now)', () => {
  it("formats like Python's datetime.strftime in the C locale", () => {
    // Python: datetime(2024,7,6,21,5,9).strftime(...) and datetime(2025,1,1).strftime(...)
    assert.equal(
      strftime(new Date(2024, 6, 6, 21, 5, 9), '%Y-%m-%d %H:%M:%S %y %b %B %a %A %j %I %p %e %-d %% %Q'),
      '2024-07-06 21:05:09 24 Jul July Sat Saturday 188 09 PM  6 6 % %Q',
    );
    assert.equal(strftime(new Date(2025, 0, 1, 0, 0, 0), '%d %b %Y %I %p %j'), '01 Jan 2025 12 AM 001');
  });
});
