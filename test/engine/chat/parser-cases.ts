/**
 * Hand-written model outputs of each family with the parse they must give: the cases of output-parser.test.ts, and
 * the texts output-stream.test.ts streams at random split points.
 */
import type { OutputParserOptions, ParsedOutput } from '../../../engine/chat/output-parser.ts';

export interface ParserCase {
  name: string;
  options: OutputParserOptions;
  text: string;
  /** Fields left out are empty. Call ids are "id0", "id1", ... */
  expected: Partial<ParsedOutput>;
}

const QWEN3: OutputParserOptions = { toolCalls: 'hermes', reasoning: true };
const LLAMA3: OutputParserOptions = { toolCalls: 'llama3' };
const MISTRAL: OutputParserOptions = { toolCalls: 'mistral' };

const call = (i: number, name: string, args: string) => ({ id: `id${i}`, name, arguments: args });
const WEATHER = '{"name": "get_weather", "arguments": {"city": "Zürich"}}';
const BROKEN = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}\n</tool_call>';

export const HERMES_CASES: ParserCase[] = [
  { name: 'content only', options: QWEN3, text: 'Hello, world! 😀', expected: { content: 'Hello, world! 😀' } },
  {
    name: 'reasoning and content',
    options: QWEN3,
    text: '<think>\nThe user greets me.\n\n</think>\n\nHello! 你好',
    expected: { reasoning: 'The user greets me.', content: 'Hello! 你好' },
  },
  {
    name: 'reasoning, then a call',
    options: QWEN3,
    text: `<think>\nNeed the weather.\n</think>\n\n<tool_call>\n${WEATHER}\n</tool_call>`,
    expected: { reasoning: 'Need the weather.', toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}')] },
  },
  {
    name: 'content, then two calls',
    options: QWEN3,
    text:
      'Let me check both.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "東京"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    expected: {
      content: 'Let me check both.',
      toolCalls: [call(0, 'get_weather', '{"city":"東京"}'), call(1, 'get_time', '{}')],
    },
  },
  {
    name: 'content before and after a call keeps the break between them',
    options: QWEN3,
    text: `Checking.\n<tool_call>\n${WEATHER}\n</tool_call>\nDone.`,
    expected: { content: 'Checking.\nDone.', toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}')] },
  },
  {
    name: 'a call missing a brace stays content, word for word, and is flagged',
    options: QWEN3,
    text: `Sure.\n${BROKEN}`,
    expected: { content: `Sure.\n${BROKEN}`, malformedToolCalls: [BROKEN] },
  },
  {
    name: 'a malformed call, then a good one',
    options: QWEN3,
    text: `${BROKEN}\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>`,
    expected: { content: BROKEN, malformedToolCalls: [BROKEN], toolCalls: [call(0, 'get_time', '{}')] },
  },
  {
    name: 'a close tag inside an argument string does not end the call',
    options: QWEN3,
    text: '<tool_call>\n{"name": "echo", "arguments": {"text": "a </tool_call> \\"b\\""}}\n</tool_call>',
    expected: { toolCalls: [call(0, 'echo', '{"text":"a </tool_call> \\"b\\""}')] },
  },
  {
    name: 'a complete call whose close tag never came',
    options: QWEN3,
    text: '<tool_call>\n{"name": "get_time", "arguments": {}}\n',
    expected: { toolCalls: [call(0, 'get_time', '{}')] },
  },
  {
    name: 'a call cut off by the token limit',
    options: QWEN3,
    text: 'One moment.\n\n<tool_call>\n{"name": "get_weather", "argum',
    expected: {
      content: 'One moment.\n\n<tool_call>\n{"name": "get_weather", "argum',
      malformedToolCalls: ['<tool_call>\n{"name": "get_weather", "argum'],
    },
  },
  {
    name: 'a name that is not a string',
    options: QWEN3,
    text: '<tool_call>\n{"name": 42, "arguments": {}}\n</tool_call>',
    expected: {
      content: '<tool_call>\n{"name": 42, "arguments": {}}\n</tool_call>',
      malformedToolCalls: ['<tool_call>\n{"name": 42, "arguments": {}}\n</tool_call>'],
    },
  },
  {
    name: 'arguments written as JSON text',
    options: QWEN3,
    text: '<tool_call>\n{"name": "f", "arguments": "{\\"a\\": [1, \\"ü\\"]}"}\n</tool_call>',
    expected: { toolCalls: [call(0, 'f', '{"a":[1,"ü"]}')] },
  },
  {
    name: 'reasoning cut off by the token limit',
    options: QWEN3,
    text: '<think>\nStill thinking about 🌍 ',
    expected: { reasoning: 'Still thinking about 🌍' },
  },
  {
    name: 'a call inside the reasoning is reasoning',
    options: QWEN3,
    text: `<think>\nMaybe <tool_call>\n${WEATHER}\n</tool_call>?\n</think>\n\nNo call needed.`,
    expected: { reasoning: `Maybe <tool_call>\n${WEATHER}\n</tool_call>?`, content: 'No call needed.' },
  },
  {
    name: 'a think tag after the start is content',
    options: QWEN3,
    text: 'A <think>x</think> B',
    expected: { content: 'A <think>x</think> B' },
  },
  {
    name: 'partial markers that are not markers',
    options: QWEN3,
    text: 'a <tool b </th c <tool_cal',
    expected: { content: 'a <tool b </th c <tool_cal' },
  },
  {
    name: 'no tools in the request: a call is content',
    options: { reasoning: true },
    text: `<tool_call>\n${WEATHER}\n</tool_call>`,
    expected: { content: `<tool_call>\n${WEATHER}\n</tool_call>` },
  },
  {
    name: 'the output starts inside the reasoning (DeepSeek-R1)',
    options: { reasoning: true, startsInReasoning: true },
    text: 'Two and two.\n</think>\n\nThe answer is 4.',
    expected: { reasoning: 'Two and two.', content: 'The answer is 4.' },
  },
];

export const LLAMA3_CASES: ParserCase[] = [
  {
    name: 'content only',
    options: LLAMA3,
    text: 'The weather is nice. ☀️',
    expected: { content: 'The weather is nice. ☀️' },
  },
  {
    name: 'a bare call with "parameters"',
    options: LLAMA3,
    text: '\n{"name": "get_weather", "parameters": {"city": "Zürich"}}',
    expected: { toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}')] },
  },
  {
    name: 'a call after <|python_tag|>',
    options: LLAMA3,
    text: '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Zürich"}}',
    expected: { toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}')] },
  },
  {
    name: 'two calls separated by "; "',
    options: LLAMA3,
    text: '{"name": "get_weather", "parameters": {"city": "Zürich"}}; {"name": "get_time", "arguments": {}}',
    expected: { toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}'), call(1, 'get_time', '{}')] },
  },
  {
    name: 'content, then a call after <|python_tag|>',
    options: LLAMA3,
    text: 'Checking. <|python_tag|>{"name": "f", "parameters": {}}',
    expected: { content: 'Checking.', toolCalls: [call(0, 'f', '{}')] },
  },
  {
    name: 'brackets inside strings',
    options: LLAMA3,
    text: '{"name": "echo", "parameters": {"text": "} ] { \\" ["}}',
    expected: { toolCalls: [call(0, 'echo', '{"text":"} ] { \\" ["}')] },
  },
  {
    name: 'an answer in JSON with no name is content, not flagged',
    options: LLAMA3,
    text: '{"answer": 42, "unit": "°C"}',
    expected: { content: '{"answer": 42, "unit": "°C"}' },
  },
  {
    name: 'a call cut off is content, flagged',
    options: LLAMA3,
    text: '{"name": "get_weather", "parameters": {"city": "Zür',
    expected: {
      content: '{"name": "get_weather", "parameters": {"city": "Zür',
      malformedToolCalls: ['{"name": "get_weather", "parameters": {"city": "Zür'],
    },
  },
  {
    name: 'parameters that are not an object',
    options: LLAMA3,
    text: '<|python_tag|>{"name": "f", "parameters": [1]}',
    expected: {
      content: '<|python_tag|>{"name": "f", "parameters": [1]}',
      malformedToolCalls: ['<|python_tag|>{"name": "f", "parameters": [1]}'],
    },
  },
  {
    name: 'a brace that opens no JSON',
    options: LLAMA3,
    text: '{x} is a set.',
    expected: { content: '{x} is a set.' },
  },
  {
    name: "a built-in tool's call is content",
    options: LLAMA3,
    text: '<|python_tag|>brave_search.call(query="weather")',
    expected: { content: '<|python_tag|>brave_search.call(query="weather")' },
  },
  {
    name: 'JSON after content is content',
    options: LLAMA3,
    text: 'Here: {"name": "f", "parameters": {}}',
    expected: { content: 'Here: {"name": "f", "parameters": {}}' },
  },
];

export const MISTRAL_CASES: ParserCase[] = [
  { name: 'content only', options: MISTRAL, text: ' Bonjour ! Ça va ?', expected: { content: 'Bonjour ! Ça va ?' } },
  {
    name: 'one call',
    options: MISTRAL,
    text: `[TOOL_CALLS] [${WEATHER}]`,
    expected: { toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}')] },
  },
  {
    name: 'two calls',
    options: MISTRAL,
    text: `[TOOL_CALLS] [${WEATHER}, {"name": "get_time", "arguments": {"tz": "Europe/Zürich"}}]`,
    expected: {
      toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}'), call(1, 'get_time', '{"tz":"Europe/Zürich"}')],
    },
  },
  {
    name: 'content, then calls',
    options: MISTRAL,
    text: `Let me look.[TOOL_CALLS] [${WEATHER}]`,
    expected: { content: 'Let me look.', toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}')] },
  },
  {
    name: 'a bare array of calls (the marker skipped as a special token)',
    options: MISTRAL,
    text: `[${WEATHER}]`,
    expected: { toolCalls: [call(0, 'get_weather', '{"city":"Zürich"}')] },
  },
  { name: 'a JSON list answer', options: MISTRAL, text: '[{"a": 1}]', expected: { content: '[{"a": 1}]' } },
  {
    name: 'a bracket that opens no call',
    options: MISTRAL,
    text: '[1] See note.',
    expected: { content: '[1] See note.' },
  },
  {
    name: 'an array never closed',
    options: MISTRAL,
    text: '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}]',
    expected: {
      content: '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}]',
      malformedToolCalls: ['[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}]'],
    },
  },
  {
    name: 'one element without a name spoils the array',
    options: MISTRAL,
    text: 'Ok [TOOL_CALLS] [{"name": "f", "arguments": {}}, {"arguments": {}}] then',
    expected: {
      content: 'Ok [TOOL_CALLS] [{"name": "f", "arguments": {}}, {"arguments": {}}] then',
      malformedToolCalls: ['[TOOL_CALLS] [{"name": "f", "arguments": {}}, {"arguments": {}}]'],
    },
  },
  {
    name: 'the marker followed by no array',
    options: MISTRAL,
    text: '[TOOL_CALLS] sorry',
    expected: { content: '[TOOL_CALLS] sorry', malformedToolCalls: ['[TOOL_CALLS]'] },
  },
];

export const ALL_CASES = [...HERMES_CASES, ...LLAMA3_CASES, ...MISTRAL_CASES];

/** Options with ids "id0", "id1", ... for one parser. */
export function pinnedIds(options: OutputParserOptions): OutputParserOptions {
  let n = 0;
  return { ...options, newId: () => `id${n++}` };
}

export function fullExpected(expected: Partial<ParsedOutput>): ParsedOutput {
  return { content: '', reasoning: '', toolCalls: [], malformedToolCalls: [], ...expected };
}
