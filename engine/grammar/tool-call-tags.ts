/**
 * Tool calls as XGrammar structural tags: free text until the format's opening marker, then each call held to its
 * tool's parameter schema. The wire formats below are the ones the chat-format parsers read; change both together.
 *
 *   hermes (Qwen, Hermes):  <tool_call>\n{"name": "NAME", "arguments": ARGS}\n</tool_call>
 *                           several calls are separated by "\n"
 *   llama3 (Llama 3.1/3.2 JSON tool calling):  {"name": "NAME", "parameters": ARGS}
 *                           optionally prefixed by <|python_tag|>; one call per message
 *   mistral:                [TOOL_CALLS][{"name": "NAME", "arguments": ARGS}, ...]
 *                           one array per message, calls separated by ", "
 *
 * Modes: 'auto' allows text, and a call wherever the model opens one; 'required' allows no text at all: one or more
 * calls (llama3: exactly one) and then only a stop token. `only` (OpenAI's named tool_choice) forces exactly one call
 * of that tool, whatever the mode. ARGS is JSON whose whitespace XGrammar leaves free; names are plain identifiers
 * (checked by the caller), so they need no escaping inside the markers.
 */
import type { ToolCallFormat } from '../serving/types.ts';

/** A tool whose parameter schema has already been checked. */
export interface CheckedTool {
  name: string;
  /** The parameter schema as JSON data (XGrammar embeds it in the structural tag). */
  parameters: unknown;
}

export type ToolCallMode = 'auto' | 'required' | 'named';

interface TagFormat {
  type: 'tag';
  begin: string;
  content: unknown;
  end: string;
}

/** The JSON text of the structural tag for these tools. */
export function toolCallsStructuralTag(
  format: ToolCallFormat,
  tools: readonly CheckedTool[],
  mode: ToolCallMode,
): string {
  const body = BUILDERS[format](tools, mode);
  return JSON.stringify({ type: 'structural_tag', format: body });
}

const schema = (tool: CheckedTool) => ({ type: 'json_schema', json_schema: tool.parameters });
const nameJson = (tool: CheckedTool) => JSON.stringify(tool.name);

/** Calls only, no text: exactly one, or one or more separated by `separator`. */
function callsOnly(tags: TagFormat[], separator: string, one: boolean) {
  // (tags_with_separator refuses an empty separator, so exactly one call is an `or` of the tags.)
  if (one) return { type: 'or', elements: tags };
  return { type: 'tags_with_separator', tags, separator, at_least_one: true };
}

const BUILDERS: Record<ToolCallFormat, (tools: readonly CheckedTool[], mode: ToolCallMode) => unknown> = {
  hermes(tools, mode) {
    const tags = tools.map(
      (t): TagFormat => ({
        type: 'tag',
        begin: `<tool_call>\n{"name": ${nameJson(t)}, "arguments": `,
        content: schema(t),
        end: '}\n</tool_call>',
      }),
    );
    if (mode === 'auto') return { type: 'triggered_tags', triggers: ['<tool_call>'], tags };
    return callsOnly(tags, '\n', mode === 'named');
  },

  llama3(tools, mode) {
    // Two tags per tool: with and without the <|python_tag|> prefix (a special token in Llama 3.1+, text before).
    const tags = tools.flatMap((t): TagFormat[] => {
      const call = `{"name": ${nameJson(t)}, "parameters": `;
      return [
        { type: 'tag', begin: call, content: schema(t), end: '}' },
        { type: 'tag', begin: `<|python_tag|>${call}`, content: schema(t), end: '}' },
      ];
    });
    if (mode === 'auto')
      return { type: 'triggered_tags', triggers: ['{"name": ', '<|python_tag|>'], tags, stop_after_first: true };
    return callsOnly(tags, '', true);
  },

  mistral(tools, mode) {
    const calls = tools.map(
      (t): TagFormat => ({
        type: 'tag',
        begin: `{"name": ${nameJson(t)}, "arguments": `,
        content: schema(t),
        end: '}',
      }),
    );
    const array: TagFormat = {
      type: 'tag',
      begin: '[TOOL_CALLS][',
      content: callsOnly(calls, ', ', mode === 'named'),
      end: ']',
    };
    if (mode === 'auto')
      return { type: 'triggered_tags', triggers: ['[TOOL_CALLS]'], tags: [array], stop_after_first: true };
    return callsOnly([array], '', true);
  },
};
