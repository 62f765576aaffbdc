/** A tool-using conversation shared by the rendering tests. */
import type { AssistantMessage, ChatRequestMessage } from '../../../engine/chat/messages.ts';
import type { ToolSpec } from '../../../engine/serving/types.ts';

export const WEATHER_TOOL: ToolSpec = {
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

export const TIME_TOOL: ToolSpec = {
  name: 'get_time',
  parameters: { type: 'object', properties: {} },
};

export const SYSTEM: ChatRequestMessage = { role: 'system', content: 'You are a weather bot.' };
export const USER: ChatRequestMessage = { role: 'user', content: 'Weather in Zürich? 🌦' };

/** The assistant's call as a client sends it back: arguments as JSON text, OpenAI's id. */
export const CALL: AssistantMessage = {
  role: 'assistant',
  content: null,
  tool_calls: [
    { id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Zürich"}' } },
  ],
};

export const RESULT: ChatRequestMessage = { role: 'tool', tool_call_id: 'call_abc123', content: '{"temp_c": 21}' };

/** System, user, the call, its result: the prompt after which the model answers from the result. */
export const TOOL_TURN: ChatRequestMessage[] = [SYSTEM, USER, CALL, RESULT];
