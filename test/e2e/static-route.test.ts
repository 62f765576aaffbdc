/**
 * main/server/routes/static.ts over real HTTP: the app at / with its security headers, the SPA fallback that never
 * swallows API paths, cache headers, and no path (raw, encoded, double-encoded, backslashed) leaving renderer/dist.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DIST_DIR, resolveInDist } from '../../main/server/routes/static.ts';
import { bearer, http, startTestServer, type TestServer } from '../main/server/server-fixture.ts';

let server: TestServer;
/** What a browser sends when it navigates to a page. */
const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

before(async () => {
  server = await startTestServer(); // no model: the UI is served whatever the engine is doing
});
after(() => server?.stop());

test('/ is the app, public, with a strict CSP, nosniff, no referrer and no caching', async () => {
  for (const path of ['/', '/?token=abc', '/chat', '/models', '/server/deeper']) {
    const r = await http(server.port, path, { headers: HTML });
    assert.equal(r.status, 200, path);
    assert.match(r.headers['content-type'] ?? '', /^text\/html/);
    assert.match(r.body, /<div id="app">/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    const csp = String(r.headers['content-security-policy']);
    for (const part of [
      "default-src 'self'",
      "script-src 'self'",
      "connect-src 'self'",
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'none'",
    ]) {
      assert.ok(csp.includes(part), `${part} missing from ${csp}`);
    }
    assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
  }
  assert.equal((await http(server.port, '/', { method: 'HEAD' })).status, 200);
});

test('hashed assets are cached for a year; a missing asset is a 404, never the app', async () => {
  const js = readdirSync(join(DIST_DIR, 'assets')).find((f) => f.endsWith('.js'))!;
  const r = await http(server.port, `/assets/${js}`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] ?? '', /^text\/javascript/);
  assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
  const missing = await http(server.port, '/assets/nope-123.js');
  assert.equal(missing.status, 404);
  assert.equal(missing.json().error.code, 'not_found');
});

test('only a browser navigation falls back to the app; other clients get a JSON 404', async () => {
  const api = await http(server.port, '/models');
  assert.equal(api.status, 404);
  assert.equal(api.json().error.code, 'not_found');
  assert.equal(
    (await http(server.port, '/', { headers: { accept: '*/*' } })).status,
    200,
    '/ itself is always the app',
  );
  assert.equal((await http(server.port, '/favicon.ico', { headers: HTML })).status, 404, 'a file stays a file');
});

test('API paths never fall back to the app, and still need their token', async () => {
  assert.equal((await http(server.port, '/api/nope')).status, 401);
  const api = await http(server.port, '/api/nope', { headers: bearer(server.token) });
  assert.equal(api.status, 404);
  assert.equal(api.json().error.code, 'not_found');
  for (const path of ['/v1/nope', '/v1', '/metricsx', '/healthz/x']) {
    const r = await http(server.port, path, { headers: { ...HTML, ...bearer(server.token) } });
    assert.doesNotMatch(r.body, /<div id="app">/, path);
  }
  assert.equal((await http(server.port, '/api/models', { headers: bearer(server.token) })).status, 200);
});

test('the Host check covers the app too', async () => {
  const r = await http(server.port, '/', { headers: { host: 'evil.example' } });
  assert.equal(r.status, 403);
});

test('no path escapes renderer/dist', async () => {
  const attempts = [
    '/../package.json',
    '/assets/../../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E%2Fpackage.json',
    '/assets/..%2f..%2fpackage.json',
    '/%252e%252e%252fpackage.json',
    '/..%5c..%5cpackage.json',
    '/assets/%2e%2e/%2e%2e/main/server/app.ts',
    '//etc/passwd',
    '/%00',
    '/%',
    '/index.html%00.js',
  ];
  for (const path of attempts) {
    const r = await http(server.port, path, { headers: HTML });
    assert.doesNotMatch(r.body, /plas-studio|buildApp|root:/, `${path} leaked a file`);
    assert.ok(r.status === 404 || r.status === 400 || (r.status === 200 && /<div id="app">/.test(r.body)), path);
  }
  assert.equal(resolveInDist('/../x', '/srv/dist'), null);
  assert.equal(resolveInDist('/%2e%2e/x', '/srv/dist'), null);
  assert.equal(resolveInDist('/a\\..\\..\\x', '/srv/dist'), null);
  assert.equal(resolveInDist('/%E0%A4%A', '/srv/dist'), null);
  assert.equal(resolveInDist('/assets/a.js', '/srv/dist'), '/srv/dist/assets/a.js');
});
