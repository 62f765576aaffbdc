/**
 * Hostile bodies against the three generating routes of the real server: wrong types, huge numbers, deep nesting,
 * invalid UTF-8, 10 MB strings, unknown fields, __proto__ and constructor keys, non-JSON. Every one gets a 4xx in
 * OpenAI's error shape, the server stays healthy (a real request still works), and the heap stays flat.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Rng } from '../../../helpers/random.ts';
import { http } from '../server-fixture.ts';
import { MODEL, startV1Server, type V1Server } from './helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let s: V1Server;
before(async () => {
  s = await startV1Server();
});
after(() => s?.stop());

type Body = string | Buffer;
const ROUTES = ['/v1/chat/completions', '/v1/completions', '/v1/responses'] as const;
const PROMPT_FIELD = { '/v1/chat/completions': 'messages', '/v1/completions': 'prompt', '/v1/responses': 'input' };
const VALID_PROMPT = {
  '/v1/chat/completions': [{ role: 'user', content: 'hi' }],
  '/v1/completions': 'hi',
  '/v1/responses': 'hi',
};

/** Values of every JSON type, several of them extreme. */
function oddValues(rng: Rng): unknown[] {
  return [
    null,
    true,
    -1,
    0,
    1e308,
    -1e308,
    2 ** 53 + 1,
    0.5,
    '',
    'x'.repeat(1 + Math.floor(rng.next() * 5000)),
    '\u0000\uFFFF\uD800',
    [],
    [null],
    [[[]]],
    {},
    { a: { b: { c: 1 } } },
    { type: 'function' },
  ];
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** Bodies that must each be refused; `route` decides the field names. */
function bodies(route: (typeof ROUTES)[number], rng: Rng): Body[] {
  const prompt = PROMPT_FIELD[route];
  const responses = route === '/v1/responses';
  const maxField = responses ? 'max_output_tokens' : 'max_tokens';
  const valid = { model: MODEL, [prompt]: VALID_PROMPT[route], [maxField]: 2 };
  const out: Body[] = [];
  const json = (v: unknown) => out.push(JSON.stringify(v));
  // Wrong types in each field the route knows (every value below is wrong for the field it lands in).
  const fields: Record<string, unknown[]> = {
    [prompt]: [null, 42, true, {}, [1.5], [null], [{ role: 7 }], [{ role: 'user', content: 5 }], [[[]]]],
    model: [42, [], {}, true, 'm'.repeat(300)],
    temperature: ['hot', -1, 3, 1e308, [], {}, true],
    top_p: [0, -0.1, 2, 'x', {}],
    stream: ['yes', 1, {}],
    keep_alive: [[], {}, 'forever and ever', '5 parsecs'],
    plas: ['on', { backend: 'sparse' }, { unknown_key: 1 }, { iterations: 0 }, { plas_block_size: 64 }],
  };
  if (!responses) {
    Object.assign(fields, {
      top_k: [-2, 1.5, 1e12, 'x'],
      max_tokens: [0, -5, 1.5, 1e308, 'many', [], 2 ** 53],
      n: [0, -1, 1e9, 'two', 2.5],
      seed: [1.5, 'x', {}, 1e300],
      stop: [5, [1], [''], { a: 1 }, ['x'.repeat(2000)]],
      logit_bias: ['x', [1], { '1': 1e308 }, { '1': 'x' }, { '-5': 1 }],
      min_tokens: [-1, 'x'],
      stop_token_ids: [[-1], 'x', [1e12]],
    });
  }
  if (route === '/v1/chat/completions') {
    Object.assign(fields, {
      tools: ['x', [{}], [{ type: 'function', function: { name: 'bad name!' } }], [{ type: 'function' }]],
      tool_choice: ['sometimes', 5, { type: 'function', function: { name: 'missing' } }, 'required'],
      response_format: ['json', { type: 'xml' }, { type: 'json_schema' }, { type: 'json_schema', json_schema: 5 }],
      top_logprobs: [21, -1, 'x'],
      logprobs: ['yes', 1],
      messages: [[{ role: 'tool', content: 'x' }], [{ role: 'user', content: [{ type: 'image_url' }] }], []],
    });
  }
  if (route === '/v1/completions') {
    Object.assign(fields, { suffix: ['tail'], echo: ['yes'], logprobs: [21, -1, true], best_of: [0, 'x', 9] });
  }
  if (route === '/v1/responses') {
    Object.assign(fields, {
      previous_response_id: ['resp_123'],
      max_output_tokens: [0, 'x', 1e308],
      input: [[{ type: 'computer_call' }], [{ type: 'function_call' }], [{ role: 'wizard', content: 'x' }], 5, []],
      tools: [[{ type: 'web_search' }], [{ type: 'function' }], 'x'],
      instructions: [5, {}],
    });
  }
  for (const [field, values] of Object.entries(fields)) for (const v of values) json({ ...valid, [field]: v });
  // Random odd values in random fields, with the prompt missing so that none can be valid.
  const names = [...Object.keys(fields), 'unknown', 'x'.repeat(100), '', ' ', '\u0000'];
  for (let i = 0; i < 80; i++) {
    const body: Record<string, unknown> = { model: MODEL };
    for (let k = 0; k < 1 + Math.floor(rng.next() * 5); k++) {
      const values = oddValues(rng);
      body[names[Math.floor(rng.next() * names.length)]] = values[Math.floor(rng.next() * values.length)];
    }
    delete body[prompt];
    json(body);
  }
  // Deep nesting: inside a known field, and inside an unknown field of a body missing its prompt.
  for (const depth of [100, 10_000, 100_000]) {
    out.push(`{"model":"${MODEL}","${prompt}":${nested(depth, '[', ']')}}`);
    out.push(`{"model":"${MODEL}","extra":${nested(depth, '{"a":', '}')}}`);
    out.push(
      `{"model":"${MODEL}","${prompt}":${JSON.stringify(VALID_PROMPT[route])},"${maxField}":${nested(depth, '[', ']')}}`,
    );
  }
  // Invalid UTF-8: in a string value (decoded as U+FFFD), in a key, and raw garbage.
  const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x82]);
  out.push(Buffer.concat([Buffer.from(`{"model":"`), bad, Buffer.from(`"}`)]));
  out.push(Buffer.concat([Buffer.from(`{"model":"${MODEL}","`), bad, Buffer.from(`":1}`)]));
  out.push(Buffer.concat([Buffer.from(`{"model":"${MODEL}","${prompt}":"`), bad, Buffer.from(`","${maxField}":0}`)]));
  out.push(bad);
  // Prototype pollution attempts on an otherwise valid body.
  out.push(`{"model":"${MODEL}","${prompt}":${JSON.stringify(VALID_PROMPT[route])},"__proto__":{"polluted":1}}`);
  out.push(
    `{"model":"${MODEL}","${prompt}":${JSON.stringify(VALID_PROMPT[route])},"constructor":{"prototype":{"polluted":1}}}`,
  );
  out.push(
    `{"model":"${MODEL}","plas":{"__proto__":{"backend":"plas"}},"${prompt}":${JSON.stringify(VALID_PROMPT[route])}}`,
  );
  out.push(`{"model":"${MODEL}","logit_bias":{"__proto__":5},"${prompt}":${JSON.stringify(VALID_PROMPT[route])}}`);
  // Not JSON, or not an object.
  for (const text of ['', '{', '{"model":', 'null', '[]', '"text"', '42', 'true', '{"a":1}}', "{'a':1}", 'NaN'])
    out.push(text);
  // Many unknown fields (and no prompt).
  const many: Record<string, number> = {};
  for (let i = 0; i < 5000; i++) many[`f${i}`] = i;
  json({ model: MODEL, ...many });
  return out;
}

/** 10 MB bodies: a string field past the 8 MiB limit (413), and one just under it in `model` (400). */
function hugeBodies(route: (typeof ROUTES)[number]): Body[] {
  const prompt = JSON.stringify(VALID_PROMPT[route]);
  return [
    `{"model":"${MODEL}","${PROMPT_FIELD[route]}":${prompt},"user":"${'u'.repeat(10 * 2 ** 20)}"}`,
    `{"model":"${'m'.repeat(7 * 2 ** 20)}","${PROMPT_FIELD[route]}":${prompt}}`,
  ];
}

/** POST raw bytes; fails (naming the body) when no answer comes within 20 s. */
function post(route: string, body: Body): Promise<{ status: number; text: string }> {
  const what = `${route} ${String(body).slice(0, 120)}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.port,
        path: route,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
      },
    );
    req.setTimeout(20_000, () => {
      req.destroy();
      reject(new Error(`no answer in 20 s: ${what}`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function send(route: string, body: Body): Promise<void> {
  const r = await post(route, body);
  const what = `${route} ${String(body).slice(0, 120)}`;
  assert.ok(r.status >= 400 && r.status < 500, `${what} -> ${r.status} ${r.text.slice(0, 300)}`);
  const e = JSON.parse(r.text).error;
  assert.equal(typeof e.message, 'string', what);
  assert.ok('param' in e && 'code' in e && 'type' in e, what);
}

async function sendAll(list: [string, Body][], parallel = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < list.length) {
        const [route, body] = list[next++];
        await send(route, body);
      }
    }),
  );
}

it('500+ hostile bodies each get a 4xx; the server stays healthy and its heap flat', { timeout: 600_000 }, async () => {
  const rng = new Rng(17);
  // Bodies as bytes made up front, outside the heap being measured.
  const bytes = (b: Body) => (typeof b === 'string' ? Buffer.from(b) : b);
  const all: [string, Body][] = ROUTES.flatMap((route) =>
    bodies(route, rng).map((b): [string, Body] => [route, bytes(b)]),
  );
  const huge: [string, Body][] = ROUTES.flatMap((route) =>
    hugeBodies(route).map((b): [string, Body] => [route, bytes(b)]),
  );
  assert.ok(all.length + huge.length >= 500, `only ${all.length + huge.length} bodies`);

  // Warm up with one full pass (code compiled, caches and pools filled), then measure two more passes: a leak of even
  // a few hundred bytes per request shows, where one pass would mostly measure warm-up.
  await sendAll(all);
  await sendAll(huge, 2);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let pass = 0; pass < 2; pass++) {
    await sendAll(all);
    await sendAll(huge, 2);
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 8 * 2 ** 20, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB over two passes`);

  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  const health = await http(s.port, '/api/health');
  assert.equal(health.status, 200);
  const ok = await s.client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 2,
  });
  assert.equal(ok.object, 'chat.completion');
});
