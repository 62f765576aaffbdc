/**
 * The tests every real vocabulary runs: 50 random constrained generations per grammar kind (JSON object, a nested
 * JSON schema, tool calls in auto, required and named modes), each decoded with the tokenizer and checked as a
 * client would; and the mask agreeing with acceptance on random ids.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { GrammarSpec, ToolCallFormat, ToolSpec } from '../../../engine/serving/types.ts';
import { Rng } from '../../helpers/random.ts';
import type { RealTokenizerName } from '../tokenizer/real-tokenizers.ts';
import { countAllowed, isAllowed, nthAllowed, openVocabulary, randomGenerations, type Vocabulary } from './harness.ts';
import { callErrors, parseToolCalls, schemaErrors, strictified } from './validate.ts';

const GENERATIONS = 50;
const MAX_TOKENS = 400;

export const PERSON_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    role: { enum: ['admin', 'user', 'guest'] },
    address: {
      type: 'object',
      properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{5}$' } },
      required: ['city'],
    },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 4 },
    scores: {
      type: 'array',
      items: {
        type: 'object',
        properties: { label: { type: 'string' }, value: { type: 'number' } },
        required: ['label', 'value'],
      },
    },
    active: { type: 'boolean' },
    nickname: { type: ['string', 'null'] },
  },
  required: ['name', 'age', 'role', 'address'],
};

export const TOOLS: ToolSpec[] = [
  {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
  },
  {
    name: 'search',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string' },
        limit: { type: 'integer', minimum: 1, maximum: 50 },
        filters: { type: 'array', items: { type: 'string' } },
      },
      required: ['query'],
    },
  },
  {
    name: 'send_email',
    parameters: {
      type: 'object',
      properties: { to: { type: 'string' }, subject: { type: 'string' }, urgent: { type: 'boolean' } },
      required: ['to', 'subject'],
    },
  },
];

export interface SuiteOptions {
  format: ToolCallFormat;
  /** json_schema strict (additionalProperties false where unspecified) or as written. */
  strictSchema: boolean;
  /** Texts that open a call in free text (tokenized here and forced now and then in auto mode). */
  triggers: string[];
  seed: number;
}

export function generationSuite(name: RealTokenizerName, o: SuiteOptions): void {
  let v: Vocabulary;
  before(async () => {
    v = await openVocabulary(name);
  });
  after(() => v?.engine.close());

  const generate = async (spec: GrammarSpec, seed: number, triggers?: string[]) => {
    const compiled = await v.engine.compile(spec);
    const encoded = triggers?.map((t) => v.tokenizer.encode(t, { addSpecialTokens: false }));
    const gens = await randomGenerations(v, compiled, {
      count: GENERATIONS,
      seed,
      maxTokens: MAX_TOKENS,
      triggers: encoded,
    });
    for (const [i, g] of gens.entries())
      assert.ok(
        g.terminated,
        `${name} generation ${i} did not end within ${MAX_TOKENS} tokens: ${JSON.stringify(g.text)}`,
      );
    return gens;
  };

  it(`${name}: ${GENERATIONS} random generations under {type: json} are JSON objects`, async () => {
    for (const [i, g] of (await generate({ type: 'json' }, o.seed)).entries()) {
      const value = parse(g.text, `${name} json ${i}`);
      assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${i}: ${g.text}`);
    }
  });

  it(`${name}: ${GENERATIONS} random generations match a nested schema (strict: ${o.strictSchema})`, async () => {
    const spec: GrammarSpec = { type: 'json_schema', schema: PERSON_SCHEMA, strict: o.strictSchema };
    const checked = o.strictSchema ? strictified(PERSON_SCHEMA) : PERSON_SCHEMA;
    for (const [i, g] of (await generate(spec, o.seed + 1)).entries()) {
      const errors = schemaErrors(checked, parse(g.text, `${name} schema ${i}`));
      assert.equal(errors, null, `${name} schema ${i}: ${g.text}`);
    }
  });

  const modes: { label: string; mode: 'auto' | 'required'; only?: string }[] = [
    { label: 'auto', mode: 'auto' },
    { label: 'required', mode: 'required' },
    { label: 'named', mode: 'auto', only: 'search' },
  ];
  for (const [k, m] of modes.entries()) {
    it(`${name}: ${GENERATIONS} random ${o.format} tool-call generations in ${m.label} mode parse and match`, async () => {
      const spec: GrammarSpec = { type: 'tool_calls', format: o.format, tools: TOOLS, mode: m.mode, only: m.only };
      const gens = await generate(spec, o.seed + 10 + k, m.mode === 'auto' ? o.triggers : undefined);
      let calls = 0;
      for (const [i, g] of gens.entries()) {
        const where = `${name} ${m.label} ${i}: ${JSON.stringify(g.text)}`;
        let parsed: ReturnType<typeof parseToolCalls>;
        try {
          parsed = parseToolCalls(o.format, g.text);
        } catch (e) {
          assert.fail(`${where}: ${(e as Error).message}`);
        }
        for (const call of parsed.calls) assert.equal(callErrors(call, TOOLS), null, where);
        calls += parsed.calls.length;
        if (m.label === 'auto') continue;
        assert.ok(parsed.calls.length >= 1, `${where}: no call`);
        assert.match(parsed.text, /^\n*$/, `${where}: text outside the calls`);
        if (m.only)
          assert.deepEqual(
            parsed.calls.map((c) => c.name),
            [m.only],
            where,
          );
        if (o.format === 'llama3') assert.equal(parsed.calls.length, 1, where);
      }
      // Auto mode must have exercised the calls too, not only free text.
      assert.ok(calls >= GENERATIONS / 5, `${name} ${m.label}: only ${calls} calls in ${GENERATIONS} generations`);
    });
  }

  it(`${name}: the mask agrees with acceptance on random ids`, async () => {
    const rng = new Rng(o.seed + 99);
    const specs: GrammarSpec[] = [
      { type: 'json_schema', schema: PERSON_SCHEMA, strict: true },
      { type: 'tool_calls', format: o.format, tools: TOOLS, mode: 'required' },
    ];
    let checked = 0;
    for (const spec of specs) {
      const compiled = await v.engine.compile(spec);
      const [sample] = await randomGenerations(v, compiled, { count: 1, seed: rng.int(0, 1e6), maxTokens: MAX_TOKENS });
      for (const prefixLength of [0, 1, 3, 7, 15].filter((n) => n < sample.ids.length)) {
        const prefix = sample.ids.slice(0, prefixLength);
        // 64 matchers walk the same prefix in one batch, then each tries its own id.
        const matchers = await Promise.all(Array.from({ length: 64 }, () => v.engine.createMatcher(compiled)));
        let results = await v.engine.step(matchers.map((matcher) => ({ matcher })));
        for (const id of prefix) results = await v.engine.step(matchers.map((matcher) => ({ matcher, accept: id })));
        const mask = results[0].mask;
        assert.ok(mask, 'a schema or required tool call constrains every step');
        const ids = matchers.map((_, j) =>
          j % 2 === 0 ? nthAllowed(mask, rng.int(0, countAllowed(mask) - 1)) : rng.int(0, v.tokenizer.vocabSize - 1),
        );
        const tried = await v.engine.step(matchers.map((matcher, j) => ({ matcher, accept: ids[j] })));
        for (const [j, r] of tried.entries())
          assert.equal(
            r.accepted,
            isAllowed(mask, ids[j]),
            `id ${ids[j]} after ${prefixLength} tokens of ${spec.type}`,
          );
        for (const m of matchers) v.engine.release(m);
        checked += matchers.length;
      }
    }
    assert.ok(checked >= 256, `checked ${checked} ids`);
  });
}

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    assert.fail(`${where} is not JSON (${(e as Error).message}): ${JSON.stringify(text)}`);
  }
}
