/**
 * Checks a JSON schema in JavaScript before XGrammar sees it. XGrammar meets a schema it cannot handle with a C++
 * fatal check (the caller sees only "Aborted()", and every abort leaks part of the wasm instance), and it silently
 * ignores some keywords, which would let the output break the schema the client asked for. Each problem found here
 * is a GrammarError naming the place in the request, e.g. "grammar.schema.properties.age.minimum".
 *
 * Supported (enforced by XGrammar 0.1.27): type, properties, required, additionalProperties, patternProperties,
 * propertyNames, minProperties, maxProperties, unevaluatedProperties, items, prefixItems, unevaluatedItems,
 * minItems, maxItems, enum, const, anyOf, oneOf (as anyOf: exact when the branches are disjoint), allOf with one
 * schema, $ref to '#' or '#/...', $defs, definitions, minLength, maxLength, pattern (a regex subset), format,
 * minimum, maximum, exclusiveMinimum, exclusiveMaximum (whole numbers only). Annotations (title, description, default, examples, ...) and
 * unknown keywords are ignored, as JSON Schema says. Keywords listed in UNSUPPORTED are refused.
 */
import { GrammarError } from './errors.ts';

export const SCHEMA_LIMITS = {
  /** Characters of the schema's JSON text. */
  maxChars: 256 * 1024,
  /** Nesting of JSON arrays and objects in the schema document. */
  maxDepth: 48,
  /** Characters of one `pattern` (each costs ~200 ms to compile; the compile timeout bounds their number). */
  maxPatternChars: 1000,
} as const;

/** Keywords XGrammar would ignore: accepting them would promise a constraint the output does not keep. */
const UNSUPPORTED = new Map([
  ['not', 'not'],
  ['if', 'if/then/else'],
  ['then', 'if/then/else'],
  ['else', 'if/then/else'],
  ['uniqueItems', 'uniqueItems'],
  ['contains', 'contains'],
  ['minContains', 'minContains'],
  ['maxContains', 'maxContains'],
  ['multipleOf', 'multipleOf'],
  ['dependentRequired', 'dependentRequired'],
  ['dependentSchemas', 'dependentSchemas'],
  ['dependencies', 'dependencies'],
  ['$dynamicRef', '$dynamicRef'],
  ['$recursiveRef', '$recursiveRef'],
  ['additionalItems', 'additionalItems (use prefixItems and items)'],
]);

const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
/** Keywords whose value is a map of name -> schema. */
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions'];
/** Keywords whose value is one schema; `false` is meaningful in these. */
const SCHEMA_SLOTS = ['additionalProperties', 'unevaluatedProperties', 'items', 'unevaluatedItems', 'propertyNames'];
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
/** Regex features XGrammar's regex converter refuses (after a fatal check), found before it sees them. */
const REGEX_UNSUPPORTED: [RegExp, string][] = [
  [/\(\?<?[=!]/, 'lookahead and lookbehind'],
  [/\\[1-9]|\\k</, 'backreferences'],
  [/\\[bB]/, 'word boundaries'],
  [/\\[pP]\{/, 'Unicode property classes (\\p{...})'],
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * Returns a checked copy of the schema as plain JSON data. `schema` is a parsed value or JSON text; `strict`: objects
 * without `additionalProperties` allow no other properties (OpenAI's strict mode).
 */
export function checkSchema(schema: unknown, field: string, strict: boolean): unknown {
  let value: unknown = schema;
  if (typeof schema === 'string') {
    try {
      value = JSON.parse(schema);
    } catch (e) {
      throw new GrammarError(field, `is not valid JSON: ${(e as Error).message}`);
    }
  }
  checkJsonValue(value, field, field, 0, new Set());
  const text = JSON.stringify(value);
  if (text.length > SCHEMA_LIMITS.maxChars)
    throw new GrammarError(field, `is ${text.length} characters of JSON; the limit is ${SCHEMA_LIMITS.maxChars}`);
  const root = JSON.parse(text) as Json; // drops undefined members, as the JSON text does
  if (root === false) throw new GrammarError(field, 'is `false`, which accepts no value');
  if (root !== true && !isObject(root))
    throw new GrammarError(field, `must be a JSON schema object, found ${describe(root)}`);
  new SchemaWalker(root, strict).walk(root, field);
  return root;
}

/** The value must be plain JSON data: no functions, NaN, class instances or cycles. */
function checkJsonValue(v: unknown, field: string, path: string, depth: number, ancestors: Set<object>): void {
  if (depth > SCHEMA_LIMITS.maxDepth)
    throw new GrammarError(field, `nests deeper than ${SCHEMA_LIMITS.maxDepth} levels of arrays and objects`);
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new GrammarError(path, `${v} is not a JSON number`);
    return;
  }
  if (typeof v !== 'object') throw new GrammarError(path, `a ${typeof v} is not JSON data`);
  if (ancestors.has(v)) throw new GrammarError(path, 'contains itself (a cycle)');
  ancestors.add(v);
  if (Array.isArray(v))
    for (const [i, x] of v.entries()) checkJsonValue(x, field, `${path}[${i}]`, depth + 1, ancestors);
  else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw new GrammarError(path, 'is not a plain JSON object');
    for (const [k, x] of Object.entries(v))
      if (x !== undefined) checkJsonValue(x, field, `${path}.${k}`, depth + 1, ancestors);
  }
  ancestors.delete(v);
}

class SchemaWalker {
  constructor(
    private readonly root: Json,
    private readonly strict: boolean,
  ) {}

  /** `path` names the place in the request, e.g. grammar.schema.properties.age. */
  walk(s: Json, path: string, falseAllowed = false): void {
    if (s === true) return;
    if (s === false) {
      if (falseAllowed) return;
      throw new GrammarError(path, 'is `false`, which accepts no value (leave the property out instead)');
    }
    if (!isObject(s)) throw new GrammarError(path, `must be a schema (an object or true), found ${describe(s)}`);

    for (const key of Object.keys(s)) {
      const why = UNSUPPORTED.get(key);
      if (why) throw new GrammarError(`${path}.${key}`, `${why} is not supported in structured output`);
    }
    this.checkType(s, path);
    this.checkRef(s, path);
    this.checkBounds(s, path);
    this.checkObject(s, path);
    this.checkPattern(s, path);
    if ('enum' in s && !(Array.isArray(s.enum) && s.enum.length > 0))
      throw new GrammarError(`${path}.enum`, 'must be a non-empty array');
    if (Array.isArray(s.items))
      throw new GrammarError(`${path}.items`, 'must be a schema; for a tuple use prefixItems (and items for the rest)');
    if (Array.isArray(s.allOf) && s.allOf.length > 1)
      throw new GrammarError(`${path}.allOf`, 'with more than one schema is not supported; merge them into one');

    for (const key of SCHEMA_MAPS) {
      const map = s[key];
      if (map === undefined) continue;
      if (!isObject(map)) throw new GrammarError(`${path}.${key}`, `must be an object, found ${describe(map)}`);
      for (const [name, sub] of Object.entries(map)) this.walk(sub, `${path}.${key}.${name}`);
    }
    for (const key of SCHEMA_SLOTS) if (key in s) this.walk(s[key], `${path}.${key}`, true);
    for (const key of SCHEMA_LISTS) {
      const list = s[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length === 0)
        throw new GrammarError(`${path}.${key}`, 'must be a non-empty array of schemas');
      for (const [i, sub] of list.entries()) this.walk(sub, `${path}.${key}[${i}]`);
    }
  }

  private checkType(s: JsonObject, path: string): void {
    if (!('type' in s)) return;
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (types.length === 0) throw new GrammarError(`${path}.type`, 'must not be an empty array');
    for (const t of types)
      if (typeof t !== 'string' || !TYPES.has(t))
        throw new GrammarError(`${path}.type`, `${JSON.stringify(t)} is not one of ${[...TYPES].join(', ')}`);
  }

  private checkRef(s: JsonObject, path: string): void {
    if (!('$ref' in s)) return;
    const ref = s.$ref;
    if (typeof ref !== 'string' || !(ref === '#' || ref.startsWith('#/')))
      throw new GrammarError(
        `${path}.$ref`,
        `only references inside the schema ('#/...') are supported, found ${describe(ref)}`,
      );
    let target: Json | undefined = this.root;
    for (const raw of ref
      .slice(2)
      .split('/')
      .filter((p) => p !== '')) {
      const part = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
      target = isObject(target) ? target[part] : Array.isArray(target) ? target[Number(part)] : undefined;
      if (target === undefined) throw new GrammarError(`${path}.$ref`, `"${ref}" points at nothing in the schema`);
    }
  }

  /** Lower bounds above upper bounds, and non-integers where counts are expected, abort XGrammar. */
  private checkBounds(s: JsonObject, path: string): void {
    const counts = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'];
    for (const key of counts) {
      const v = s[key];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0))
        throw new GrammarError(`${path}.${key}`, `must be a non-negative integer, found ${describe(v)}`);
    }
    const integer = s.type === 'integer';
    for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) {
      const v = s[key];
      if (v === undefined) continue;
      if (typeof v !== 'number') throw new GrammarError(`${path}.${key}`, `must be a number, found ${describe(v)}`);
      // XGrammar 0.1.27 turns a fractional bound into a pattern that accepts invalid JSON ("1.5" -> "1", any, "5").
      if (!Number.isInteger(v))
        throw new GrammarError(
          `${path}.${key}`,
          `${v}: only whole-number bounds are supported in structured output${integer ? ' (and this is an integer)' : ''}`,
        );
    }
    const pairs: [string, string][] = [
      ['minLength', 'maxLength'],
      ['minItems', 'maxItems'],
      ['minProperties', 'maxProperties'],
      ['minimum', 'maximum'],
      ['exclusiveMinimum', 'maximum'],
      ['minimum', 'exclusiveMaximum'],
      ['exclusiveMinimum', 'exclusiveMaximum'],
    ];
    for (const [lo, hi] of pairs) {
      const a = s[lo];
      const b = s[hi];
      if (typeof a !== 'number' || typeof b !== 'number') continue;
      const empty = lo.startsWith('exclusive') || hi.startsWith('exclusive') ? a >= b : a > b;
      if (empty) throw new GrammarError(`${path}.${lo}`, `${lo} (${a}) leaves no value below ${hi} (${b})`);
    }
  }

  /** Required or counted properties that additionalProperties: false (or strict) makes impossible abort or mislead. */
  private checkObject(s: JsonObject, path: string): void {
    const props = isObject(s.properties) ? s.properties : {};
    const closed =
      s.additionalProperties === false ||
      (this.strict && !('additionalProperties' in s) && !('patternProperties' in s));
    if ('required' in s) {
      if (!Array.isArray(s.required) || !s.required.every((r) => typeof r === 'string'))
        throw new GrammarError(`${path}.required`, 'must be an array of property names');
      if (closed) {
        const missing = s.required.find((r) => !Object.hasOwn(props, r as string));
        if (missing !== undefined)
          throw new GrammarError(
            `${path}.required`,
            `"${missing}" is required but not among the properties, and no other property is allowed`,
          );
      }
    }
    const known = Object.keys(props).length;
    if (closed && typeof s.minProperties === 'number' && s.minProperties > known)
      throw new GrammarError(
        `${path}.minProperties`,
        `${s.minProperties} is more than the ${known} properties allowed (no other property is allowed)`,
      );
  }

  private checkPattern(s: JsonObject, path: string): void {
    if (!('pattern' in s)) return;
    const p = s.pattern;
    const at = `${path}.pattern`;
    if (typeof p !== 'string') throw new GrammarError(at, `must be a string, found ${describe(p)}`);
    if (p.length > SCHEMA_LIMITS.maxPatternChars)
      throw new GrammarError(at, `is ${p.length} characters; the limit is ${SCHEMA_LIMITS.maxPatternChars}`);
    try {
      new RegExp(p);
    } catch (e) {
      throw new GrammarError(at, `is not a valid regular expression: ${(e as Error).message}`);
    }
    for (const [re, what] of REGEX_UNSUPPORTED)
      if (re.test(p)) throw new GrammarError(at, `uses ${what}, which structured output does not support`);
  }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : String(v);
}
