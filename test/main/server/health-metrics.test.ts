/**
 * What monitoring and the app's Server page read: /health (503 while the launch model loads, then 200), /metrics
 * (every family, values from the engine at scrape time), the live stats stream, the recent requests (numbers, never
 * text) and the settings (never the key). One real chat completion through the OpenAI client feeds them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import OpenAI from 'openai';
import { engineLoader, type ModelLoader } from '../../../main/server/models/model-loader.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { bearer, http, readSse, startTestServer, TEST_ENGINE, type TestServer } from './server-fixture.ts';

let dir: string;
let server: TestServer;
let releaseLoad!: () => void;
const loadGate = new Promise<void>((resolve) => {
  releaseLoad = resolve;
});
/** Holds the launch model's load open until the test has seen /health answer 503. */
const gatedLoader: ModelLoader = async (...args) => {
  await loadGate;
  return engineLoader(...args);
};
const PROMPT = 'the secret prompt text';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-health-'));
  await writeTinyModel(join(dir, 'tiny'), { architecture: 'llama', dtype: 'f16', seed: 9 });
  server = await startTestServer({
    model: join(dir, 'tiny'),
    loader: gatedLoader,
    apiKey: 'sk-local',
    // PLAS on every step, so the per-layer density gauges have values.
    engine: { ...TEST_ENGINE, attention: { backend: 'plas', statsSampleEvery: 1 } },
  });
});
after(async () => {
  releaseLoad();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('/health is 503 with the reason while the model loads, then 200', async () => {
  const loading = await http(server.port, '/health');
  assert.equal(loading.status, 503);
  assert.deepEqual(loading.json(), { status: 'unavailable', reason: "loading the model 'tiny'" });
  const api = (await http(server.port, '/api/health')).json();
  assert.equal(api.status, 'ok', 'the process itself is up');
  assert.equal(api.adapter.architecture, 'swiftshader');
  releaseLoad();
  await server.ready;
  const ok = await http(server.port, '/health');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json(), { status: 'ok', model: 'tiny' });
});

it('/metrics has every family, with the engine state read at scrape time', async () => {
  await server.ready;
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-local', maxRetries: 0 });
  const completion = await client.chat.completions.create({
    model: 'tiny',
    messages: [{ role: 'user', content: PROMPT }],
    max_tokens: 4,
  });
  assert.equal(completion.usage?.completion_tokens, 4);
  const res = await http(server.port, '/metrics', { headers: bearer('sk-local') });
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  const text = res.body;
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} in:\n${text}`);
    return Number(line.slice(series.length + 1));
  };
  assert.equal(value('plas_requests_total{route="/v1/chat/completions",status="200"}'), 1);
  assert.ok(value('plas_requests_total{route="/health",status="503"}') >= 1, 'the app counts its own routes');
  assert.equal(value('plas_prompt_tokens_total'), completion.usage?.prompt_tokens);
  assert.equal(value('plas_generation_tokens_total'), 4);
  assert.equal(value('plas_time_to_first_token_seconds_count'), 1);
  assert.equal(value('plas_time_per_output_token_seconds_count'), 1);
  const stats = server.manager.loaded()!.engine.stats();
  assert.equal(value('plas_num_requests_waiting'), 0);
  assert.equal(value('plas_num_requests_running'), 0);
  assert.equal(value('plas_kv_cache_pages_free'), stats.kv.freePages);
  assert.equal(value('plas_kv_cache_pages_used'), stats.kv.numPages - stats.kv.freePages);
  assert.equal(value('plas_prefix_cache_hit_tokens'), stats.prefixCache.hitTokens);
  assert.equal(value('plas_prefix_cache_queried_tokens'), stats.prefixCache.queriedTokens);
  const density = value('plas_attention_density{layer="0"}');
  assert.ok(density > 0 && density <= 1, `density ${density}`);
  assert.ok(value('plas_model_load_seconds{model="tiny"}') > 0);
});

it('/api/stats/stream sends the engine stats once a second until the client goes', async () => {
  await server.ready;
  const started = Date.now();
  const { status, events, endedByServer } = await readSse(server.port, '/api/stats/stream', {
    headers: bearer(server.token),
    until: (e) => e.event === 'stats' && Date.now() - started > 900,
  });
  assert.equal(status, 200);
  assert.equal(endedByServer, false);
  assert.ok(events.length >= 2);
  for (const e of events) {
    assert.equal(e.event, 'stats');
    assert.equal(e.data.model, 'tiny');
    assert.equal(e.data.stats.kv.numPages, server.manager.loaded()!.engine.stats().kv.numPages);
    assert.equal(e.data.stats.attention.backend, 'plas');
  }
});

it('/api/requests lists requests with numbers only; /api/settings shows no secret', async () => {
  const res = await http(server.port, '/api/requests', { headers: bearer(server.token) });
  assert.equal(res.status, 200);
  assert.ok(!res.body.includes(PROMPT), 'no prompt text');
  const entry = res.json().requests.find((r: { route: string }) => r.route === '/v1/chat/completions');
  assert.ok(entry, res.body);
  assert.equal(entry.model, 'tiny');
  assert.equal(entry.status, 200);
  assert.equal(entry.completionTokens, 4);
  assert.ok(entry.promptTokens > 0 && entry.ttftMs > 0 && entry.tokensPerSecond > 0 && entry.at > 0);
  assert.equal((await http(server.port, '/api/requests?limit=0', { headers: bearer(server.token) })).status, 400);

  const settings = await http(server.port, '/api/settings', { headers: bearer(server.token) });
  assert.equal(settings.status, 200);
  assert.ok(!settings.body.includes('sk-local'), 'the API key is never returned');
  assert.ok(!settings.body.includes(server.token), 'nor the token');
  const s = settings.json();
  assert.equal(s.apiKeyRequired, true);
  assert.equal(s.defaultModel, 'tiny');
  assert.equal(s.port, server.port);
  assert.equal(s.dataDir, server.dataDir);
  assert.equal(s.keepAliveMs, 30 * 60_000);
  assert.equal(s.limits.maxN, 16);
});
