/**
 * Checks generated text the way a client would: JSON.parse, then the schema with Ajv (a dependency of fastify, so
 * already installed), and tool calls parsed from each family's wire format.
 */
import { Ajv } from 'ajv';
import type { ToolCallFormat, ToolSpec } from '../../../engine/serving/types.ts';

const ajv = new Ajv({ strict: false, allErrors: true });

/** OpenAI strict mode for Ajv: every object schema that does not say otherwise allows no other properties. */
export function strictified(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictified);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'enum' || k === 'const' ? v : strictified(v);
  const isObjectSchema = out.type === 'object' || 'properties' in out;
  if (isObjectSchema && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

/** Returns Ajv's errors as text, or null when `value` matches. */
export function schemaErrors(schema: unknown, value: unknown): string | null {
  const validate = ajv.compile(schema as object);
  return validate(value) ? null : ajv.errorsText(validate.errors);
}

export interface ParsedCall {
  name: string;
  args: unknown;
}

export interface ParsedToolOutput {
  calls: ParsedCall[];
  /** The text outside the calls (separators included). */
  text: string;
}

/** Parses `text` as `format` writes tool calls; throws on a malformed call. */
export function parseToolCalls(format: ToolCallFormat, text: string): ParsedToolOutput {
  if (format === 'hermes') {
    const calls: ParsedCall[] = [];
    const rest = text.replace(/<tool_call>\n([\s\S]*?)\n<\/tool_call>/g, (_, body: string) => {
      calls.push(callOf(JSON.parse(body), 'arguments'));
      return '';
    });
    if (rest.includes('<tool_call>')) throw new Error('a <tool_call> that is not a complete call');
    return { calls, text: rest };
  }
  if (format === 'llama3') {
    const starts = [text.indexOf('{"name": '), text.indexOf('<|python_tag|>')].filter((i) => i >= 0);
    if (starts.length === 0) return { calls: [], text };
    const start = Math.min(...starts);
    const json = text.slice(start).replace(/^<\|python_tag\|>/, '');
    return { calls: [callOf(JSON.parse(json), 'parameters')], text: text.slice(0, start) };
  }
  const start = text.indexOf('[TOOL_CALLS]');
  if (start < 0) return { calls: [], text };
  const list = JSON.parse(text.slice(start + '[TOOL_CALLS]'.length)) as unknown[];
  return { calls: list.map((c) => callOf(c, 'arguments')), text: text.slice(0, start) };
}

function callOf(value: unknown, argsKey: string): ParsedCall {
  const keys = Object.keys(value as object);
  if (keys.length !== 2 || keys[0] !== 'name' || keys[1] !== argsKey)
    throw new Error(`a call must have exactly "name" and "${argsKey}", found ${JSON.stringify(keys)}`);
  const v = value as Record<string, unknown>;
  return { name: v.name as string, args: v[argsKey] };
}

/** Errors of one parsed call against its tools (strict arguments), or null. */
export function callErrors(call: ParsedCall, tools: readonly ToolSpec[]): string | null {
  const tool = tools.find((t) => t.name === call.name);
  if (!tool) return `unknown tool ${JSON.stringify(call.name)}`;
  return schemaErrors(strictified(tool.parameters), call.args);
}
