/**
 * A body that fails its TypeBox schema -> one 400 naming the field. Of a schema's many errors the deepest is the one
 * to fix: in a union (`stop`: a string or a list of strings) the branch that got furthest says what is wrong
 * (`stop[0]: must NOT have fewer than 1 characters`), not the first branch tried (`stop: must be string`).
 */
import { invalidRequest, type OpenAIError } from './openai-error.ts';

export interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** The JSON pointer of an issue, down to the property a `required` or `additionalProperties` issue is about. */
function pointerOf(issue: ValidationIssue): string {
  const base = issue.instancePath ?? '';
  // TypeBox lists them (requiredProperties, additionalProperties); Ajv names one (missingProperty, ...).
  const p = issue.params ?? {};
  const listed = (p.requiredProperties ?? p.additionalProperties) as unknown[] | undefined;
  const key = p.missingProperty ?? p.additionalProperty ?? (Array.isArray(listed) ? listed[0] : undefined);
  return key === undefined ? base : `${base}/${String(key)}`;
}

/** "/messages/0/content" -> "messages[0].content"; "" -> null (the body itself). */
export function pointerToParam(pointer: string): string | null {
  const parts = pointer.split('/').filter(Boolean);
  if (parts.length === 0) return null;
  let out = '';
  for (const p of parts) {
    const key = p.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out;
}

/** An optional field's "must be null" and a union's "must match a schema in anyOf" say nothing useful. */
const isNoise = (i: ValidationIssue) => i.keyword === 'anyOf' || (i.keyword === 'type' && i.params?.type === 'null');

function describe(at: ValidationIssue[]): string {
  const consts = at.filter((i) => i.keyword === 'const').map((i) => JSON.stringify(i.params?.allowedValue));
  if (consts.length > 1) return `must be one of ${consts.join(', ')}`;
  if (consts.length === 1) return `must be ${consts[0]}`;
  const issue = at.find((i) => !isNoise(i)) ?? at[0];
  if (issue.keyword === 'required') return 'is required';
  // TypeBox reports a property its schema forbids as "schema is false" at the property itself.
  if (issue.keyword === 'additionalProperties' || issue.keyword === 'boolean') return 'is not a known field';
  return issue.message ?? 'is invalid';
}

export function schemaError(issues: readonly ValidationIssue[]): OpenAIError {
  if (issues.length === 0) return invalidRequest(null, 'the request body is invalid');
  const depth = (i: ValidationIssue) => pointerOf(i).split('/').length;
  const deepest = Math.max(...issues.map(depth));
  const at = issues.filter((i) => depth(i) === deepest);
  // Issues at the same depth may be at different places (two fields of one object): a wrong value first (it is
  // likelier the mistake than a missing field: {type: "retrieval"} is the wrong tool type more than a missing
  // function), else the first place.
  const pointer = pointerOf(
    at.find((i) => !isNoise(i) && i.keyword !== 'required') ?? at.find((i) => !isNoise(i)) ?? at[0],
  );
  const param = pointerToParam(pointer);
  const message = describe(at.filter((i) => pointerOf(i) === pointer));
  return invalidRequest(param, `${param ?? 'the request body'}: ${message}`);
}
