/** The small parsers at the server's edge: keep-alive durations, model names, validation messages, CORS origins. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { normalizeOrigin } from '../../../main/server/cors.ts';
import { parseKeepAlive } from '../../../main/server/keep-alive.ts';
import { checkModelName, nameFromFolder } from '../../../main/server/models/model-names.ts';
import { describeValidation, jsonPath } from '../../../main/server/validation-message.ts';

it('keep-alive takes seconds or Go durations; negative is forever', () => {
  assert.equal(parseKeepAlive('300'), 300_000);
  assert.equal(parseKeepAlive(1.5), 1500);
  assert.equal(parseKeepAlive('30m'), 1_800_000);
  assert.equal(parseKeepAlive('1h30m'), 5_400_000);
  assert.equal(parseKeepAlive('500ms'), 500);
  assert.equal(parseKeepAlive('0'), 0);
  assert.equal(parseKeepAlive('-1'), -1);
  assert.equal(parseKeepAlive('-5m'), -1);
  assert.throws(() => parseKeepAlive('5x'), /keep-alive "5x" is not a duration/);
  assert.throws(() => parseKeepAlive(''), /not a duration/);
});

it('model names are plain; path-like names are refused', () => {
  assert.equal(checkModelName('Qwen/Qwen3-0.6B'), 'Qwen/Qwen3-0.6B');
  assert.equal(checkModelName('llama3.2:1b'), 'llama3.2:1b');
  for (const bad of ['../../etc/passwd', '/etc/passwd', 'a/../b', 'a//b', '.hidden', '', 'a b', 'x\n', 'a/./b', 'é']) {
    assert.throws(() => checkModelName(bad), /is not a valid model name/, JSON.stringify(bad));
  }
  const taken = new Set(['Qwen3-0.6B', 'Qwen3-0.6B-2']);
  assert.equal(
    nameFromFolder('/models/Qwen3-0.6B', (n) => taken.has(n)),
    'Qwen3-0.6B-3',
  );
  assert.equal(
    nameFromFolder('/models/..weird name!', () => false),
    'weird-name-',
  );
});

it('validation errors name the JSON path as OpenAI does', () => {
  assert.equal(jsonPath('/messages/0/content/2/text'), 'messages[0].content[2].text');
  assert.equal(jsonPath(''), '');
  const union = describeValidation(
    [
      { instancePath: '/messages/0/role', keyword: 'const', params: { allowedValue: 'system' } },
      { instancePath: '/messages/0/role', keyword: 'const', params: { allowedValue: 'user' } },
      { instancePath: '/messages/0/role', keyword: 'anyOf', params: {} },
    ],
    'body',
  );
  assert.deepEqual(union, { param: 'messages[0].role', message: 'messages[0].role: must be one of "system", "user"' });
  assert.deepEqual(
    describeValidation([{ instancePath: '', keyword: 'required', params: { requiredProperties: ['path'] } }], 'body'),
    { param: 'path', message: 'path: is required' },
  );
  assert.deepEqual(
    describeValidation(
      [
        { instancePath: '/extra', keyword: 'boolean', params: {}, message: 'schema is false' },
        { instancePath: '', keyword: 'additionalProperties', params: { additionalProperties: ['extra'] } },
      ],
      'body',
    ),
    { param: 'extra', message: 'extra: is not a known field' },
  );
  assert.deepEqual(
    describeValidation(
      [{ instancePath: '/context', keyword: 'minimum', params: {}, message: 'must be >= 1' }],
      'querystring',
    ),
    { param: 'context', message: 'querystring context: must be >= 1' },
  );
});

it('CORS origins are normalized, and what is not an origin is refused', () => {
  assert.equal(normalizeOrigin('HTTP://LocalHost:3000/'), 'http://localhost:3000');
  assert.equal(normalizeOrigin('https://app.example:443'), 'https://app.example');
  assert.equal(normalizeOrigin('*'), '*');
  assert.throws(() => normalizeOrigin('localhost:3000/path'), /is not an origin/);
  assert.throws(() => normalizeOrigin('http://a.example/path'), /is not an origin/);
});
