/**
 * response_format, tools and tool_choice -> the engine's GrammarSpec (engine/serving/types.ts).
 * - response_format json_object / json_schema: the output is held to JSON / to the schema.
 * - tool_choice "required" or a named function: the output is tool calls in the model family's markers, arguments
 *   held to each tool's parameters; tool_choice "auto" (the default with tools) is free text, calls parsed after.
 * - tools in auto mode beside a response_format: nothing is constrained (a grammar cannot say "a call or this JSON",
 *   and the Agents SDK sends both: tools first, a final answer in the schema); the format is the model's to follow.
 * Schemas are checked here for size and depth (the caps of ctx.settings.limits) before XGrammar ever sees them.
 */
import type { GrammarSpec, ToolCallFormat, ToolSpec } from '../../../engine/serving/types.ts';
import { invalidRequest } from './openai-error.ts';
import type { Limits } from './request-mapping.ts';

/** Deeper schemas than this are refused (no real tool or output schema nests this far). */
export const MAX_SCHEMA_DEPTH = 32;

export type ToolChoice = 'none' | 'auto' | 'required' | { name: string };

export type OutputFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; schema: unknown; strict?: boolean };

/** Refuse a schema larger than the cap or nested deeper than MAX_SCHEMA_DEPTH (walked without recursion). */
export function checkSchema(schema: unknown, param: string, limits: Limits): void {
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(schema) ?? '');
  } catch {
    bytes = Number.POSITIVE_INFINITY; // too deep for JSON.stringify's stack
  }
  if (bytes > limits.maxSchemaBytes) {
    throw invalidRequest(
      param,
      `${param}: the schema is ${bytes} bytes; at most ${limits.maxSchemaBytes} on this server`,
    );
  }
  const stack: [unknown, number][] = [[schema, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_SCHEMA_DEPTH) {
      throw invalidRequest(param, `${param}: the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
    }
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
}

/** Tool definitions for the template and the grammar; `param` names the body's tools field. */
export function toolSpecs(
  tools: readonly { name: string; description?: string | null; parameters?: unknown }[],
  limits: Limits,
  param: string,
): ToolSpec[] {
  if (tools.length > limits.maxTools) {
    throw invalidRequest(param, `${param}: at most ${limits.maxTools} tools on this server, got ${tools.length}`);
  }
  const seen = new Set<string>();
  return tools.map((t, i) => {
    if (seen.has(t.name)) throw invalidRequest(`${param}[${i}]`, `${param}[${i}]: a second tool named "${t.name}"`);
    seen.add(t.name);
    const parameters = t.parameters ?? { type: 'object', properties: {} };
    checkSchema(parameters, `${param}[${i}].parameters`, limits);
    return { name: t.name, ...(t.description ? { description: t.description } : {}), parameters };
  });
}

/** tool_choice checked against the tools given ("required" needs tools; a named one must exist). */
export function checkToolChoice(choice: ToolChoice | undefined, tools: readonly ToolSpec[], param: string): ToolChoice {
  const value = choice ?? (tools.length > 0 ? 'auto' : 'none');
  if (value === 'none' || value === 'auto') return value;
  if (tools.length === 0)
    throw invalidRequest(param, `${param}: ${JSON.stringify(value)} needs tools, and none were given`);
  if (typeof value === 'object' && !tools.some((t) => t.name === value.name)) {
    throw invalidRequest(
      param,
      `${param}: no tool named "${value.name}" (tools: ${tools.map((t) => t.name).join(', ')})`,
    );
  }
  return value;
}

export interface GrammarInput {
  format: OutputFormat | undefined;
  /** The body's name for the format field (response_format, text.format), for errors. */
  formatParam: string;
  tools: readonly ToolSpec[];
  toolChoice: ToolChoice;
  toolChoiceParam: string;
  /** The model family's tool-call markers; null when its template has none. */
  toolCallFormat: ToolCallFormat | null;
  limits: Limits;
}

export function grammarFor(i: GrammarInput): GrammarSpec | undefined {
  if (i.toolChoice === 'required' || typeof i.toolChoice === 'object') {
    if (!i.toolCallFormat) {
      throw invalidRequest(
        i.toolChoiceParam,
        `${i.toolChoiceParam}: this model's chat template has no known tool-call format, so calls cannot be forced`,
      );
    }
    return {
      type: 'tool_calls',
      format: i.toolCallFormat,
      tools: [...i.tools],
      mode: 'required',
      ...(typeof i.toolChoice === 'object' ? { only: i.toolChoice.name } : {}),
    };
  }
  if (i.toolChoice === 'auto' && i.tools.length > 0) return undefined;
  if (!i.format || i.format.type === 'text') return undefined;
  if (i.format.type === 'json_object') return { type: 'json' };
  const schema = i.format.schema ?? {};
  checkSchema(schema, `${i.formatParam}.schema`, i.limits);
  return { type: 'json_schema', schema, ...(i.format.strict !== undefined ? { strict: i.format.strict } : {}) };
}
