/**
 * GrammarSpec -> compile plan, in plain JavaScript (no XGrammar): every schema XGrammar would abort on or silently
 * weaken is refused with a GrammarError naming its place in the request, and tool calls get their wire formats.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { planGrammar } from '../../../engine/grammar/compile-plan.ts';
import { GrammarError } from '../../../engine/grammar/errors.ts';
import { exactIntegerRanges } from '../../../engine/grammar/schema-rewrite.ts';
import { vocabTypeOfDecoder } from '../../../engine/grammar/tokenizer-vocab.ts';
import { InvalidRequestError } from '../../../engine/serving/errors.ts';
import type { GrammarSpec, ToolSpec } from '../../../engine/serving/types.ts';

function refused(spec: GrammarSpec, field: string, message: RegExp): void {
  assert.throws(
    () => planGrammar(spec),
    (e: unknown) => {
      assert.ok(e instanceof GrammarError && e instanceof InvalidRequestError, String(e));
      assert.equal(e.field, field);
      assert.match(e.message, message);
      return true;
    },
  );
}

const schema = (s: unknown, strict = false): GrammarSpec => ({ type: 'json_schema', schema: s, strict });

it('refuses schemas XGrammar cannot compile, naming the path', () => {
  const age = (extra: object) => schema({ type: 'object', properties: { age: { type: 'integer', ...extra } } });
  refused(age({ minimum: 5, maximum: 2 }), 'grammar.schema.properties.age.minimum', /leaves no value/);
  refused(age({ minimum: 1.5 }), 'grammar.schema.properties.age.minimum', /whole-number/);
  refused(age({ type: 'int' }), 'grammar.schema.properties.age.type', /"int" is not one of/);
  refused(
    schema({ type: 'object', properties: { tags: { type: 'array', minItems: 3, maxItems: 1 } } }),
    'grammar.schema.properties.tags.minItems',
    /leaves no value/,
  );
  refused(
    schema({ type: 'object', properties: { a: { type: 'string', pattern: '(?<=x)y' } } }),
    'grammar.schema.properties.a.pattern',
    /lookahead and lookbehind/,
  );
  refused(
    schema({ properties: { a: { pattern: '[unclosed' } } }),
    'grammar.schema.properties.a.pattern',
    /not a valid/,
  );
  refused(schema({ properties: { a: false } }), 'grammar.schema.properties.a', /accepts no value/);
  refused(schema({ $ref: 'https://example.com/s.json' }), 'grammar.schema.$ref', /only references inside/);
  refused(schema({ $ref: '#/$defs/missing', $defs: {} }), 'grammar.schema.$ref', /points at nothing/);
  refused(schema('{"type": '), 'grammar.schema', /is not valid JSON/);
  refused(schema(42), 'grammar.schema', /must be a JSON schema object/);
  refused(schema({ enum: [] }), 'grammar.schema.enum', /non-empty/);
  refused(schema({ type: 'array', items: [{ type: 'string' }] }), 'grammar.schema.items', /prefixItems/);
  refused(
    schema({ type: 'object', properties: { a: {} }, required: ['b'] }, true),
    'grammar.schema.required',
    /"b" is required but not among the properties/,
  );
  refused(schema({ type: 'object', minProperties: 1 }, true), 'grammar.schema.minProperties', /more than the 0/);
});

it('refuses keywords XGrammar would ignore, instead of promising them', () => {
  for (const [keyword, value] of [
    ['not', { type: 'string' }],
    ['uniqueItems', true],
    ['multipleOf', 5],
    ['if', { type: 'string' }],
    ['contains', { type: 'string' }],
    ['dependentRequired', { a: ['b'] }],
  ] as const)
    refused(
      schema({ anyOf: [{ type: 'string' }, { type: 'array', [keyword]: value }] }),
      `grammar.schema.anyOf[1].${keyword}`,
      /not supported in structured output/,
    );
  refused(schema({ allOf: [{ type: 'object' }, { required: ['a'] }] }), 'grammar.schema.allOf', /merge them/);
});

it('refuses what is not JSON data, and oversized or overdeep schemas', () => {
  const cyclic: Record<string, unknown> = { type: 'object' };
  cyclic.properties = { self: cyclic };
  refused(schema(cyclic), 'grammar.schema.properties.self', /cycle/);
  refused(schema({ type: 'number', maximum: Number.NaN }), 'grammar.schema.maximum', /not a JSON number/);
  refused(schema({ type: 'string', default: () => 1 }), 'grammar.schema.default', /function is not JSON/);
  let deep: unknown = { type: 'string' };
  for (let i = 0; i < 60; i++) deep = { type: 'array', items: deep };
  refused(schema(deep), 'grammar.schema', /nests deeper than 48/);
  refused(schema({ enum: ['x'.repeat(300_000)] }), 'grammar.schema', /characters of JSON; the limit is 262144/);
});

it('accepts supported schemas: annotations and unknown keywords pass, JSON text is parsed', () => {
  const ok: unknown[] = [
    {
      type: 'object',
      title: 'T',
      description: 'd',
      'x-vendor': 1,
      properties: { a: { type: 'string', format: 'email' } },
    },
    '{"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}',
    { $defs: { n: { type: 'integer' } }, type: 'object', properties: { n: { $ref: '#/$defs/n' } }, required: ['n'] },
    { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^[a-z]+$', minLength: 1, maxLength: 8 }] },
    true,
  ];
  for (const s of ok) assert.doesNotThrow(() => planGrammar(schema(s, true)), JSON.stringify(s));
});

it('json is any object; equal specs share a cache key, different ones do not', () => {
  const json = planGrammar({ type: 'json' });
  assert.deepEqual(json.plan, { kind: 'json_schema', schema: '{"type":"object"}', strict: false });
  const a = planGrammar(schema({ type: 'object', properties: { x: { type: 'string' } } }));
  const b = planGrammar(schema({ type: 'object', properties: { x: { type: 'string' } } }));
  const c = planGrammar(schema({ type: 'object', properties: { x: { type: 'string' } } }, true));
  assert.equal(a.key, b.key);
  assert.notEqual(a.key, c.key);
  assert.notEqual(a.key, json.key);
});

it('small bounded integer ranges become enums (XGrammar 0.1.27 gets some ranges wrong)', () => {
  const out = exactIntegerRanges({
    type: 'object',
    properties: {
      age: { type: 'integer', minimum: 0, maximum: 150, description: 'years' },
      pct: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 4 },
      big: { type: 'integer', minimum: 0, maximum: 1_000_000 },
      open: { type: 'integer', minimum: 7 },
      either: { type: ['integer', 'null'], minimum: 0, maximum: 3 },
    },
  }) as { properties: Record<string, Record<string, unknown>> };
  assert.deepEqual(out.properties.age, { description: 'years', enum: Array.from({ length: 151 }, (_, i) => i) });
  assert.deepEqual(out.properties.pct, { enum: [1, 2, 3] });
  assert.deepEqual(out.properties.big, { type: 'integer', minimum: 0, maximum: 1_000_000 });
  assert.deepEqual(out.properties.open, { type: 'integer', minimum: 7 });
  assert.deepEqual(out.properties.either, { type: ['integer', 'null'], minimum: 0, maximum: 3 });
});

const TOOLS: ToolSpec[] = [
  { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  { name: 'ping', parameters: undefined },
];

function tag(spec: GrammarSpec): { type: string; [k: string]: unknown } {
  const { plan } = planGrammar(spec);
  assert.equal(plan.kind, 'structural_tag');
  return (JSON.parse(plan.kind === 'structural_tag' ? plan.tag : '') as { format: { type: string } }).format;
}

it('tool calls: each format writes its own markers; required allows no text; only forces that one tool', () => {
  const hermes = tag({ type: 'tool_calls', format: 'hermes', tools: TOOLS, mode: 'auto' });
  assert.equal(hermes.type, 'triggered_tags');
  assert.deepEqual(hermes.triggers, ['<tool_call>']);
  const [weather] = hermes.tags as { begin: string; end: string; content: unknown }[];
  assert.equal(weather.begin, '<tool_call>\n{"name": "get_weather", "arguments": ');
  assert.equal(weather.end, '}\n</tool_call>');

  const required = tag({ type: 'tool_calls', format: 'hermes', tools: TOOLS, mode: 'required' });
  assert.deepEqual([required.type, required.separator, required.at_least_one], ['tags_with_separator', '\n', true]);

  const named = tag({ type: 'tool_calls', format: 'hermes', tools: TOOLS, mode: 'auto', only: 'ping' });
  assert.equal(named.type, 'or');
  const [only] = named.elements as { begin: string; content: { json_schema: unknown } }[];
  assert.equal(only.begin, '<tool_call>\n{"name": "ping", "arguments": ');
  assert.deepEqual(only.content.json_schema, { type: 'object', properties: {} }, 'no parameters: an empty object');

  const llama = tag({ type: 'tool_calls', format: 'llama3', tools: TOOLS, mode: 'auto' });
  assert.deepEqual(llama.triggers, ['{"name": ', '<|python_tag|>']);
  assert.deepEqual((llama.tags as { begin: string }[]).map((t) => t.begin).slice(0, 2), [
    '{"name": "get_weather", "parameters": ',
    '<|python_tag|>{"name": "get_weather", "parameters": ',
  ]);
  const mistral = tag({ type: 'tool_calls', format: 'mistral', tools: TOOLS, mode: 'auto' });
  const [array] = mistral.tags as {
    begin: string;
    end: string;
    content: { separator: string; tags: { begin: string }[] };
  }[];
  assert.deepEqual([array.begin, array.end, array.content.separator], ['[TOOL_CALLS][', ']', ', ']);
  assert.equal(array.content.tags[0].begin, '{"name": "get_weather", "arguments": ');
});

it('tool calls: bad names, duplicates, unknown `only` and bad parameter schemas name their field', () => {
  const spec = (tools: ToolSpec[], extra: object = {}): GrammarSpec => ({
    type: 'tool_calls',
    format: 'hermes',
    tools,
    mode: 'auto',
    ...extra,
  });
  refused(spec([]), 'grammar.tools', /at least one tool/);
  refused(spec([{ name: 'bad name', parameters: {} }]), 'grammar.tools[0].name', /letters, digits/);
  refused(spec([TOOLS[0], TOOLS[0]]), 'grammar.tools[1].name', /listed twice/);
  refused(spec(TOOLS, { only: 'nope' }), 'grammar.only', /names no listed tool/);
  refused(
    spec([
      TOOLS[0],
      { name: 'f', parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 0.5 } } } },
    ]),
    'grammar.tools[1].parameters.properties.n.minimum',
    /whole-number/,
  );
  refused({ type: 'tool_calls', format: 'xml' as 'hermes', tools: TOOLS, mode: 'auto' }, 'grammar.format', /one of/);
  refused({ type: 'yaml' } as unknown as GrammarSpec, 'grammar.type', /must be json, json_schema or tool_calls/);
});

it('vocabulary type follows tokenizer.json decoder', () => {
  assert.equal(vocabTypeOfDecoder({ type: 'ByteLevel' }), 'byte_level');
  assert.equal(
    vocabTypeOfDecoder({
      type: 'Sequence',
      decoders: [{ type: 'Replace' }, { type: 'ByteFallback' }, { type: 'Fuse' }],
    }),
    'byte_fallback',
  );
  assert.equal(vocabTypeOfDecoder({ type: 'Metaspace' }), 'byte_fallback');
  assert.equal(vocabTypeOfDecoder({ type: 'WordPiece' }), 'raw');
  assert.equal(vocabTypeOfDecoder(null), 'raw');
});
