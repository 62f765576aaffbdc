/**
 * Schema validation errors (TypeBox's compiler, in Ajv's error format) -> one message naming the JSON path of the offending field, the way OpenAI names it
 * (`messages[0].role`), so a client sees what to fix: "messages[0].role: must be one of 'system', 'user'".
 */

/** The part of an Ajv-format error we read. */
export interface AjvIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** "/messages/0/role" -> "messages[0].role"; "" -> "". */
export function jsonPath(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * The field and message of the most telling issue. Ajv reports a union's alternatives one by one ("must be equal to
 * constant" twice, then "must match a schema in anyOf"): consts under one path are folded into "must be one of".
 */
export function describeValidation(issues: readonly AjvIssue[], part: string): { param: string; message: string } {
  const first = issues[0];
  const path = jsonPath(first.instancePath);
  const consts = issues.filter((i) => i.instancePath === first.instancePath && i.keyword === 'const');
  if (consts.length > 1 || (consts.length === 1 && issues.some((i) => i.keyword === 'anyOf'))) {
    const allowed = consts.map((i) => JSON.stringify(i.params.allowedValue)).join(', ');
    return { param: path, message: `${label(path, part)}: must be one of ${allowed}` };
  }
  if (first.keyword === 'required') {
    // TypeBox lists every missing property, Ajv one.
    const missing = (first.params.requiredProperties as unknown[] | undefined)?.[0] ?? first.params.missingProperty;
    const field = join(path, String(missing));
    return { param: field, message: `${label(field, part)}: is required` };
  }
  // An unknown property: TypeBox reports `additionalProperties: false` as the property failing schema `false`.
  if (first.keyword === 'boolean' && issues.some((i) => i.keyword === 'additionalProperties')) {
    return { param: path, message: `${label(path, part)}: is not a known field` };
  }
  if (first.keyword === 'additionalProperties') {
    const extra = first.params.additionalProperties ?? first.params.additionalProperty;
    const field = join(path, String(Array.isArray(extra) ? extra[0] : extra));
    return { param: field, message: `${label(field, part)}: is not a known field` };
  }
  const enumValues = first.keyword === 'enum' ? (first.params.allowedValues as unknown[]) : null;
  const message = enumValues
    ? `must be one of ${enumValues.map((v) => JSON.stringify(v)).join(', ')}`
    : (first.message ?? 'is invalid');
  return { param: path, message: `${label(path, part)}: ${message}` };
}

/** Body fields are named bare (as OpenAI does); the query string and URL parameters say which they are. */
function label(path: string, part: string): string {
  if (part === 'body') return path === '' ? 'the request body' : path;
  return path === '' ? `the ${part}` : `${part} ${path}`;
}
