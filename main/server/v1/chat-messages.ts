/**
 * OpenAI chat messages (every role; content as a string or text parts; assistant tool_calls; tool results) -> the
 * messages engine/chat renders. Role rules are checked here so a 400 names the message ("messages[3]: a tool
 * message needs tool_call_id"); engine/chat checks the rest (arguments that are not a JSON object) by field.
 */
import type { ChatRequestMessage } from '../../../engine/chat/messages.ts';
import { invalidRequest } from './openai-error.ts';
import type { ChatMessageIn } from './schemas/chat.ts';

/** Content parts joined as vLLM joins them; a part that is not text is refused by name (text models only). */
export function partsText(
  content: string | readonly { type: string; text?: string }[] | null | undefined,
  param: string,
  textTypes: readonly string[] = ['text'],
): string | null {
  if (content === null || content === undefined) return null;
  if (typeof content === 'string') return content;
  return content
    .map((part, j) => {
      if (!textTypes.includes(part.type)) {
        const allowed = textTypes.map((t) => `"${t}"`).join(' or ');
        throw invalidRequest(
          `${param}[${j}].type`,
          `${param}[${j}].type: "${part.type}" content is not supported (this server runs text models; use ${allowed} parts)`,
        );
      }
      if (typeof part.text !== 'string')
        throw invalidRequest(`${param}[${j}].text`, `${param}[${j}].text: is required`);
      return part.text;
    })
    .join('\n');
}

export function chatMessages(messages: readonly ChatMessageIn[]): ChatRequestMessage[] {
  return messages.map((m, i): ChatRequestMessage => {
    const at = `messages[${i}]`;
    const content = partsText(m.content, `${at}.content`);
    if (m.tool_calls && m.tool_calls.length > 0 && m.role !== 'assistant') {
      throw invalidRequest(
        `${at}.tool_calls`,
        `${at}: only assistant messages carry tool_calls (this one is ${m.role})`,
      );
    }
    const name = m.name ? { name: m.name } : {};
    switch (m.role) {
      case 'system':
      case 'developer':
      case 'user':
        if (content === null)
          throw invalidRequest(`${at}.content`, `${at}.content: is required for a ${m.role} message`);
        return { role: m.role, content, ...name };
      case 'assistant': {
        const calls = m.tool_calls ?? [];
        if (content === null && calls.length === 0) {
          throw invalidRequest(`${at}.content`, `${at}: an assistant message needs content or tool_calls`);
        }
        return {
          role: 'assistant',
          content,
          ...name,
          ...(calls.length > 0
            ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: c.function })) }
            : {}),
          ...(m.reasoning_content ? { reasoning: m.reasoning_content } : {}),
        };
      }
      default: // 'tool'
        if (!m.tool_call_id) throw invalidRequest(`${at}.tool_call_id`, `${at}: a tool message needs tool_call_id`);
        return { role: 'tool', content: content ?? '', tool_call_id: m.tool_call_id };
    }
  });
}
