/**
 * A request's GrammarSpec -> what the XGrammar worker compiles, checked first in JavaScript (schema-check.ts), and a
 * key for the compile cache (a hash of the plan, so equal grammars from different requests compile once).
 */
import { createHash } from 'node:crypto';
import type { GrammarSpec, ToolCallFormat } from '../serving/types.ts';
import { GrammarError } from './errors.ts';
import type { CompilePlan } from './protocol.ts';
import { checkSchema } from './schema-check.ts';
import { exactIntegerRanges } from './schema-rewrite.ts';
import { type CheckedTool, type ToolCallMode, toolCallsStructuralTag } from './tool-call-tags.ts';

export interface PlannedGrammar {
  plan: CompilePlan;
  key: string;
  /** The request field a compile failure is reported against. */
  field: string;
}

/** OpenAI's rule for function names; it also keeps names safe to write inside the call markers unescaped. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const FORMATS: readonly ToolCallFormat[] = ['hermes', 'llama3', 'mistral'];
export const MAX_TOOLS = 128;

/** OpenAI's json_object: any JSON whose top level is an object. */
const ANY_OBJECT = '{"type":"object"}';

export function planGrammar(spec: GrammarSpec): PlannedGrammar {
  const { plan, field } = planOf(spec);
  const key = createHash('sha256').update(JSON.stringify(plan)).digest('hex');
  return { plan, key, field };
}

function planOf(spec: GrammarSpec): { plan: CompilePlan; field: string } {
  switch (spec?.type) {
    case 'json':
      return { plan: { kind: 'json_schema', schema: ANY_OBJECT, strict: false }, field: 'grammar' };
    case 'json_schema': {
      const strict = spec.strict ?? false;
      const schema = JSON.stringify(exactIntegerRanges(checkSchema(spec.schema, 'grammar.schema', strict)));
      return { plan: { kind: 'json_schema', schema, strict }, field: 'grammar.schema' };
    }
    case 'tool_calls':
      return { plan: { kind: 'structural_tag', tag: planToolCalls(spec) }, field: 'grammar.tools' };
    default:
      throw new GrammarError(
        'grammar.type',
        `must be json, json_schema or tool_calls, found ${String((spec as { type?: unknown } | null)?.type)}`,
      );
  }
}

function planToolCalls(spec: Extract<GrammarSpec, { type: 'tool_calls' }>): string {
  if (!FORMATS.includes(spec.format))
    throw new GrammarError('grammar.format', `must be one of ${FORMATS.join(', ')}, found ${String(spec.format)}`);
  if (spec.mode !== 'auto' && spec.mode !== 'required')
    throw new GrammarError('grammar.mode', `must be auto or required, found ${String(spec.mode)}`);
  if (!Array.isArray(spec.tools) || spec.tools.length === 0)
    throw new GrammarError('grammar.tools', 'must list at least one tool');
  if (spec.tools.length > MAX_TOOLS)
    throw new GrammarError('grammar.tools', `lists ${spec.tools.length} tools; the limit is ${MAX_TOOLS}`);

  const seen = new Set<string>();
  const tools: CheckedTool[] = spec.tools.map((tool, i) => {
    const at = `grammar.tools[${i}]`;
    if (typeof tool?.name !== 'string' || !TOOL_NAME.test(tool.name))
      throw new GrammarError(`${at}.name`, `must be 1-64 letters, digits, _ or -, found ${JSON.stringify(tool?.name)}`);
    if (seen.has(tool.name)) throw new GrammarError(`${at}.name`, `"${tool.name}" is listed twice`);
    seen.add(tool.name);
    // A function without parameters takes an empty object.
    const given = tool.parameters ?? { type: 'object', properties: {} };
    // Structural tags hold arguments to exactly the declared properties, as OpenAI's strict function calling.
    const parameters = exactIntegerRanges(checkSchema(given, `${at}.parameters`, true));
    return { name: tool.name, parameters };
  });

  let mode: ToolCallMode = spec.mode;
  let chosen = tools;
  if (spec.only !== undefined) {
    chosen = tools.filter((t) => t.name === spec.only);
    if (chosen.length === 0)
      throw new GrammarError('grammar.only', `names no listed tool: ${JSON.stringify(spec.only)}`);
    mode = 'named';
  }
  return toolCallsStructuralTag(spec.format, chosen, mode);
}
