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
    body: { plas_decoder_top_k_left: 4, plas_decoder_top_k_right: 8, denseLastLayer: false },
  });
  assert.equal(patched.status, 200, patched.body);
  assert.equal(patched.json().config.plas_decoder_top_k_left, 4);
  assert.equal(engine.plasConfig.plas_decoder_top_k_right, 8);
  assert.equal(engine.plasConfig.denseLastLayer, false);
});

it('PATCH refuses what is invalid with 400, naming it, and changes nothing', async () => {
  const engine = server.manager.loaded()!.engine;
  const before = { ...engine.plasConfig };
  const cases: [unknown, RegExp][] = [
    [{ plas_encoder_top_k_left: 70 }, /plas_encoder_top_k_left \(70\) must be <= plas_encoder_top_k_right \(60\)/],
    [{ iterations: 33 }, /^iterations: must be <= 32$/],
    [{ iterations: 2.5 }, /^iterations: must be integer$/],
    [{ denseLastLayer: 'yes' }, /^denseLastLayer: must be boolean$/],
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
