/**
 * The server's defenses over real HTTP: Host header (DNS rebinding), CORS closed unless configured, the API key on
 * /v1 and /metrics, the management token on /api, the body limit, and the bind refusal without a key. Every refusal
 * is in OpenAI's error shape.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { bearer, http, startTestServer, type TestServer } from './server-fixture.ts';

let server: TestServer;
let open: TestServer;
const API_KEY = 'sk-test-key';
const ALLOWED = 'http://localhost:5173';

before(async () => {
  server = await startTestServer({ apiKey: API_KEY, corsOrigins: [ALLOWED], allowedHosts: ['studio.lan'] });
  open = await startTestServer();
});
after(async () => {
  await server?.stop();
  await open?.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: the body under test, checked field by field
function assertOpenAIError(body: any, status: number, pattern: RegExp): void {
  assert.equal(typeof body.error, 'object', JSON.stringify(body));
  assert.match(body.error.message, pattern);
  assert.equal(typeof body.error.type, 'string');
  assert.ok('param' in body.error && 'code' in body.error, `${status}: ${JSON.stringify(body)}`);
  assert.ok(!JSON.stringify(body).includes('    at '), 'no stack in the body');
}

it('refuses a foreign Host header (DNS rebinding) with 403, accepts loopback and allowed names', async () => {
  const evil = await http(server.port, '/health', { headers: { host: 'evil.example' } });
  assert.equal(evil.status, 403);
  assertOpenAIError(evil.json(), 403, /Host evil\.example is not allowed/);
  const evilPort = await http(server.port, '/api/health', { headers: { host: `evil.example:${server.port}` } });
  assert.equal(evilPort.status, 403);
  for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`, 'studio.lan']) {
    const ok = await http(server.port, '/api/health', { headers: { host } });
    assert.equal(ok.status, 200, host);
  }
});

it('answers CORS preflights only for configured origins, and refuses foreign origins', async () => {
  const preflight = (origin: string, srv = server) =>
    http(srv.port, '/v1/chat/completions', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os',
      },
    });
  const allowed = await preflight(ALLOWED);
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED);
  assert.match(String(allowed.headers['access-control-allow-methods']), /POST/);
  assert.match(String(allowed.headers['access-control-allow-headers']), /x-stainless-os/);

  const other = await preflight('http://evil.example');
  assert.equal(other.status, 403);
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  assertOpenAIError(other.json(), 403, /cross-origin requests from http:\/\/evil\.example are not allowed/);

  // Closed by default: the server without --cors-origin answers no preflight.
  const closed = await preflight(ALLOWED, open);
  assert.equal(closed.status, 403);
  assert.equal(closed.headers['access-control-allow-origin'], undefined);

  // A simple (non-preflighted) cross-origin request is refused too, not just left unreadable.
  const blind = await http(open.port, '/api/health', { headers: { origin: 'http://evil.example' } });
  assert.equal(blind.status, 403);
  // An allowed origin's real request carries the CORS header; a same-origin page needs none.
  const real = await http(server.port, '/api/health', { headers: { origin: ALLOWED } });
  assert.equal(real.status, 200);
  assert.equal(real.headers['access-control-allow-origin'], ALLOWED);
  const same = await http(open.port, '/api/health', { headers: { origin: `http://127.0.0.1:${open.port}` } });
  assert.equal(same.status, 200);
  assert.equal(same.headers['access-control-allow-origin'], undefined);
});

it('guards /v1 and /metrics with the API key (401 in OpenAI shape)', async () => {
  const none = await http(server.port, '/v1/models');
  assert.equal(none.status, 401);
  assertOpenAIError(none.json(), 401, /needs an API key/);
  assert.equal(none.json().error.code, 'invalid_api_key');
  const wrong = await http(server.port, '/v1/models', { headers: bearer('sk-wrong') });
  assert.equal(wrong.status, 401);
  assertOpenAIError(wrong.json(), 401, /incorrect API key/);
  const right = await http(server.port, '/v1/models', { headers: bearer(API_KEY) });
  assert.equal(right.status, 200, right.body);
  assert.equal((await http(server.port, '/metrics')).status, 401);
  assert.equal((await http(server.port, '/metrics', { headers: bearer(API_KEY) })).status, 200);
  // Without --api-key, /v1 and /metrics are open (the server is bound to loopback).
  assert.equal((await http(open.port, '/v1/models')).status, 200);
  assert.equal((await http(open.port, '/metrics')).status, 200);
  // /health stays open for probes.
  assert.notEqual((await http(server.port, '/health')).status, 401);
});

it('guards /api with the management token: Bearer, X-PLAS-Token or ?token=', async () => {
  const none = await http(server.port, '/api/models');
  assert.equal(none.status, 401);
  assertOpenAIError(none.json(), 401, /management API needs the token/);
  assert.equal((await http(server.port, '/api/models', { headers: bearer('nope') })).status, 401);
  // The API key is not the management token.
  assert.equal((await http(server.port, '/api/models', { headers: bearer(API_KEY) })).status, 401);
  assert.equal((await http(server.port, '/api/models', { headers: bearer(server.token) })).status, 200);
  assert.equal((await http(server.port, '/api/models', { headers: { 'x-plas-token': server.token } })).status, 200);
  assert.equal((await http(server.port, `/api/models?token=${server.token}`)).status, 200);
  assert.equal((await http(server.port, '/api/models?token=')).status, 401);
  // The router decodes the path: /%61pi/models is /api/models, and is guarded as such.
  const encoded = await http(server.port, '/%61pi/models');
  assert.equal(encoded.status, 401);
  // Another server's token does not open this one.
  assert.equal((await http(server.port, '/api/models', { headers: bearer(open.token) })).status, 401);
});

it('refuses a body over 8 MiB with 413 in OpenAI shape', async () => {
  const big = JSON.stringify({ path: 'x'.repeat(9 * 2 ** 20) });
  const res = await http(server.port, '/api/models', { method: 'POST', body: big, headers: bearer(server.token) });
  assert.equal(res.status, 413);
  assertOpenAIError(res.json(), 413, /too large/);
});

it('answers unknown routes and malformed JSON in OpenAI shape', async () => {
  const missing = await http(open.port, '/nothing/here');
  assert.equal(missing.status, 404);
  assertOpenAIError(missing.json(), 404, /no route GET \/nothing\/here/);
  const bad = await http(open.port, '/api/models', {
    method: 'POST',
    body: '{"path": ',
    headers: bearer(open.token),
  });
  assert.equal(bad.status, 400);
  assertOpenAIError(bad.json(), 400, /JSON/);
});

it('refuses to bind beyond loopback without an API key', async () => {
  const dataDir = join(server.dataDir, 'never-made');
  await assert.rejects(
    startTestServer({ host: '0.0.0.0', dataDir }),
    /binding 0\.0\.0\.0 would expose the server .*--api-key/,
  );
  assert.equal(existsSync(dataDir), false, 'refused before anything was written');
});
