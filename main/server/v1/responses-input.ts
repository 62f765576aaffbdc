/**
 * The Responses API's `input` (a string, or items: messages, function_call, function_call_output, reasoning) and
 * `instructions` -> the chat messages engine/chat renders. Items are flat in the Responses API; in a chat template a
 * call belongs to the assistant turn before it, so consecutive function_call items join that turn, and a reasoning
 * item goes to the assistant turn that follows it.
 */
import type { AssistantMessage, ChatRequestMessage } from '../../../engine/chat/messages.ts';
import { partsText } from './chat-messages.ts';
import { invalidRequest } from './openai-error.ts';
import type { InputItem, ResponsesBody } from './schemas/responses.ts';

const TEXT_PARTS = ['input_text', 'output_text', 'text'];
const ROLES = ['user', 'system', 'developer', 'assistant'] as const;

export function responsesMessages(body: ResponsesBody): ChatRequestMessage[] {
  const out: ChatRequestMessage[] = [];
  if (body.instructions) out.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') {
    out.push({ role: 'user', content: body.input });
    return out;
  }
  let reasoning: string | undefined;
  const assistantTurn = (): AssistantMessage => {
    const last = out[out.length - 1];
    if (last?.role === 'assistant') return last;
    const turn: AssistantMessage = { role: 'assistant', content: '', ...(reasoning ? { reasoning } : {}) };
    reasoning = undefined;
    out.push(turn);
    return turn;
  };
  body.input.forEach((item: InputItem, i) => {
    const at = `input[${i}]`;
    const type = item.type ?? (item.role ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = item.role as (typeof ROLES)[number];
        if (!ROLES.includes(role)) {
          throw invalidRequest(`${at}.role`, `${at}.role: must be one of ${ROLES.map((r) => `"${r}"`).join(', ')}`);
        }
        const content = partsText(item.content, `${at}.content`, TEXT_PARTS) ?? '';
        if (role === 'assistant') {
          const turn = assistantTurn();
          turn.content = `${turn.content ?? ''}${content}`;
        } else out.push({ role, content });
        return;
      }
      case 'function_call': {
        if (!item.call_id || !item.name || item.arguments === undefined) {
          throw invalidRequest(at, `${at}: a function_call item needs call_id, name and arguments`);
        }
        const turn = assistantTurn();
        const call = {
          id: item.call_id,
          type: 'function' as const,
          function: { name: item.name, arguments: item.arguments },
        };
        turn.tool_calls = [...(turn.tool_calls ?? []), call];
        return;
      }
      case 'function_call_output': {
        if (!item.call_id || item.output === undefined) {
          throw invalidRequest(at, `${at}: a function_call_output item needs call_id and output`);
        }
        const output = partsText(item.output, `${at}.output`, TEXT_PARTS) ?? '';
        out.push({ role: 'tool', content: output, tool_call_id: item.call_id });
        return;
      }
      case 'reasoning': {
        const parts = [...(item.summary ?? []), ...(Array.isArray(item.content) ? item.content : [])];
        const text = parts.map((p) => p.text ?? '').join('\n');
        if (text) reasoning = text;
        return;
      }
      default:
        throw invalidRequest(
          `${at}.type`,
          `${at}.type: ${JSON.stringify(type ?? null)} items are not supported (message, function_call, function_call_output, reasoning)`,
        );
    }
  });
  if (out.every((m) => m.role === 'system')) throw invalidRequest('input', 'input: needs at least one message');
  return out;
}
