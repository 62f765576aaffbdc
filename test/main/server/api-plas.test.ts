/** GET/PATCH /api/plas: the loaded engine's live PLAS config, its bounds, and validation that changes nothing on error. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { defaultPlasConfig, type PlasConfig, validatePlasConfig } from '../../../engine/plas/config.ts';
import { PLAS_BOUNDS } from '../../../main/server/routes/api-plas.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { bearer, http, startTestServer, TEST_ENGINE, type TestServer } from './server-fixture.ts';

let dir: string;
let server: TestServer;
const api = (path: string, options: Parameters<typeof http>[2] = {}) =>
  http(server.port, path, { ...options, headers: { ...bearer(server.token), ...options.headers } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-api-plas-'));
  await writeTinyModel(join(dir, 'tiny'), { architecture: 'llama', dtype: 'f16', seed: 4 });
  server = await startTestServer({
    engine: { ...TEST_ENGINE, attention: { backend: 'plas' } },
    model: join(dir, 'tiny'),
  });
});
after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('is 409 while no model is loaded', async () => {
  await server.ready;
  await server.manager.unload('tiny');
  const res = await api('/api/plas');
  assert.equal(res.status, 409);
  assert.equal(res.json().error.code, 'no_model_loaded');
  assert.equal((await api('/api/plas', { method: 'PATCH', body: { iterations: 4 } })).status, 409);
  await server.manager.load('tiny');
});

it('GET shows the live config and its bounds; PATCH changes it from the next step', async () => {
  const got = (await api('/api/plas')).json();
  const engine = server.manager.loaded()!.engine;
  assert.equal(got.model, 'tiny');
  assert.equal(got.backend, 'plas');
  assert.deepEqual(got.config, engine.plasConfig);
  assert.deepEqual(got.bounds.iterations, { min: 1, max: 32 });
  assert.deepEqual(got.bounds.plas_block_size, { fixed: engine.plasConfig.plas_block_size });

  const patched = await api('/api/plas', {
    method: 'PATCH',
    body: {
      plas_decoder_top_k_left: 4,
      plas_decoder_top_k_right: 8,
      denseLastLayer: false,
      topkSearch: 'original',
      decoderBlockScore: 'bound-gate',
    },
  });
  assert.equal(patched.status, 200, patched.body);
  assert.equal(patched.json().config.plas_decoder_top_k_left, 4);
  assert.equal(engine.plasConfig.plas_decoder_top_k_right, 8);
  assert.equal(engine.plasConfig.denseLastLayer, false);
  assert.equal(engine.plasConfig.topkSearch, 'original');
  assert.equal(engine.plasConfig.decoderBlockScore, 'bound-gate');
});

it('PATCH refuses what is invalid with 400, naming it, and changes nothing', async () => {
  const engine = server.manager.loaded()!.engine;
  const before = { ...engine.plasConfig };
  const cases: [unknown, RegExp][] = [
    [{ plas_encoder_top_k_left: 70 }, /plas_encoder_top_k_left \(70\) must be <= plas_encoder_top_k_right \(60\)/],
    [{ iterations: 33 }, /^iterations: must be <= 32$/],
    [{ iterations: 2.5 }, /^iterations: must be integer$/],
    [{ denseLastLayer: 'yes' }, /^denseLastLayer: must be boolean$/],
    [{ topkSearch: 'fast' }, /^topkSearch: /],
    [{ encoderBlockScore: 'max' }, /^encoderBlockScore: /],
    [{ plas_top_k: 3 }, /^plas_top_k: is not a known field$/],
    [{ plas_block_size: before.plas_block_size * 2 }, /plas_block_size is fixed when a model loads/],
  ];
  for (const [body, message] of cases) {
    const res = await api('/api/plas', { method: 'PATCH', body });
    assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.match(res.json().error.message, message);
  }
  assert.deepEqual(engine.plasConfig, before);
});

it('PLAS_BOUNDS are the bounds the engine enforces', () => {
  const base = (): PlasConfig => defaultPlasConfig(64);
  const topK = [
    'plas_encoder_top_k_left',
    'plas_encoder_top_k_right',
    'plas_decoder_top_k_left',
    'plas_decoder_top_k_right',
  ] as const;
  for (const [key, { min, max }] of Object.entries(PLAS_BOUNDS) as [
    keyof typeof PLAS_BOUNDS,
    { min: number; max: number },
  ][]) {
    // The top-k ranges are checked left <= right: move both ends of a side together.
    const set = (v: number): PlasConfig => {
      const c = base();
      if ((topK as readonly string[]).includes(key)) {
        const side = key.includes('encoder') ? 'encoder' : 'decoder';
        c[`plas_${side}_top_k_left`] = v;
        c[`plas_${side}_top_k_right`] = v;
      } else c[key] = v;
      return c;
    };
    assert.doesNotThrow(() => validatePlasConfig(set(min), 64), `${key} = ${min}`);
    assert.doesNotThrow(() => validatePlasConfig(set(max), 64), `${key} = ${max}`);
    const range = new RegExp(`must be an integer in \\[${min}, ${max}\\]`);
    assert.throws(() => validatePlasConfig(set(min - 1), 64), range, `${key} = ${min - 1}`);
    assert.throws(() => validatePlasConfig(set(max + 1), 64), range, `${key} = ${max + 1}`);
  }
});

it('PATCH switches the backend of requests that do not choose; /api/requests shows what each attended', async () => {
  const engine = server.manager.loaded()!.engine;
  const chat = (plas?: object) =>
    http(server.port, '/v1/chat/completions', {
      method: 'POST',
      body: {
        messages: [{ role: 'user', content: 'hello there' }],
        max_tokens: 3,
        temperature: 0,
        ...(plas && { plas }),
      },
    });
  const off = await api('/api/plas', { method: 'PATCH', body: { backend: 'dense' } });
  assert.equal(off.status, 200, off.body);
  assert.equal(off.json().backend, 'dense');
  assert.equal(engine.defaultBackend, 'dense');
  assert.equal((await chat()).json().plas.backend, 'dense');
  assert.equal((await api('/api/plas', { method: 'PATCH', body: { backend: 'plas' } })).json().backend, 'plas');
  assert.equal((await chat()).json().plas.backend, 'plas');
  assert.equal((await chat({ backend: 'dense' })).json().plas.backend, 'dense', 'a request may still choose');
  const bad = await api('/api/plas', { method: 'PATCH', body: { backend: 'sparse' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json().error.message, /backend/);

  const logged = (await api('/api/requests?limit=3')).json().requests;
  const layers = server.manager.loaded()!.model.dims.numLayers;
  assert.deepEqual(
    logged.map((r: { attention: { backend: string } }) => r.attention.backend),
    ['dense', 'plas', 'dense'],
    'newest first',
  );
  assert.ok(logged[0].id > logged[1].id, 'ids grow');
  for (const r of logged) {
    assert.equal(r.attention.layerDensity.prefill.length, layers);
    assert.equal(r.attention.layerDensity.decode.length, layers);
    assert.equal(typeof r.attention.decodeDensity, 'number');
  }
  assert.deepEqual(logged[0].attention.layerDensity.decode, Array(layers).fill(1), 'dense attends every block');
});

it('settings are saved per model, applied when it loads again, and reset to its defaults', async () => {
  const engine0 = server.manager.loaded()!.engine;
  const defaults = (await api('/api/plas')).json().defaults;
  assert.deepEqual(defaults.config, engine0.config.attention.plas);
  const patched = await api('/api/plas', {
    method: 'PATCH',
    body: { plas_decoder_top_k_left: 3, plas_decoder_top_k_right: 5, iterations: 9, backend: 'dense' },
  });
  assert.equal(patched.status, 200, patched.body);
  assert.equal(patched.json().saved, true);
  const stored = (await api('/api/model-settings/tiny')).json().settings.plas;
  assert.equal(stored.config.plas_decoder_top_k_left, 3);
  assert.equal(stored.backend, 'dense');
  assert.equal(stored.config.plas_block_size, undefined, 'the block size is the model’s, not saved');

  await server.manager.unload('tiny');
  await server.manager.load('tiny');
  const engine1 = server.manager.loaded()!.engine;
  assert.notEqual(engine1, engine0, 'a fresh engine');
  const got = (await api('/api/plas')).json();
  assert.equal(got.config.plas_decoder_top_k_left, 3);
  assert.equal(got.config.plas_decoder_top_k_right, 5);
  assert.equal(got.config.iterations, 9);
  assert.equal(got.backend, 'dense');
  assert.equal(engine1.plasConfig.plas_decoder_top_k_left, 3, 'the engine runs them, not just the view');

  // Other settings saved for the model survive PATCH and reset.
  const settings = (await api('/api/model-settings/tiny')).json().settings;
  await api('/api/model-settings/tiny', { method: 'PUT', body: { settings: { ...settings, note: 'kept' } } });
  const reset = await api('/api/plas/reset', { method: 'POST' });
  assert.equal(reset.status, 200, reset.body);
  assert.deepEqual(reset.json().config, engine1.config.attention.plas);
  assert.equal(reset.json().backend, 'plas');
  assert.equal(reset.json().saved, false);
  assert.deepEqual((await api('/api/model-settings/tiny')).json().settings, { note: 'kept' });
  await server.manager.unload('tiny');
  await server.manager.load('tiny');
  assert.deepEqual((await api('/api/plas')).json().config, defaults.config, 'nothing re-applied after a reset');
});

it('GET gives the context in tokens and blocks (the sliders’ useful maximum)', async () => {
  const got = (await api('/api/plas')).json();
  const loaded = server.manager.loaded()!;
  assert.equal(got.context.tokens, loaded.model.config.maxPositionEmbeddings);
  assert.equal(got.context.blocks, Math.ceil(got.context.tokens / got.config.plas_block_size));
});
