/**
 * /api/jobs over HTTP on PLAS Mini (a copy in a temp folder: training never writes into resources/): a gate-training
 * job reports its progress as server-sent events, a cancel stops it and leaves the old gate file byte for byte, a
 * finished job writes a gate the engine loads (the previous one kept as .bak), bad bodies are 400s naming the field,
 * and a second job while one runs is a 409.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { GATE_WEIGHT_FILE, loadPlasGateWeights } from '../../../engine/plas/gate-weights.ts';
import { DEFAULT_MODEL_DIR } from '../../../main/cli/default-model.ts';
import { addBoundGate } from '../../fixtures/bound-gate.ts';
import { bearer, http, readSse, type SseEvent, startTestServer, type TestServer } from './server-fixture.ts';

let dir: string;
let folder: string;
let server: TestServer;
const auth = () => bearer(server.token);
const api = (path: string, options: Parameters<typeof http>[2] = {}) =>
  http(server.port, path, { ...options, headers: { ...auth(), ...options.headers } });
const load = (name: string) => readSse(server.port, `/api/models/${name}/load`, { method: 'POST', headers: auth() });
/** Tiny: 2 windows of 256 tokens (block 32, PLAS Mini's gate), a few steps a layer. */
const TINY = { tokens: 512, steps: 8, queries: 32 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-api-jobs-'));
  folder = join(dir, 'mini');
  await cp(DEFAULT_MODEL_DIR, folder, { recursive: true });
  server = await startTestServer();
  const added = await api('/api/models', { method: 'POST', body: { path: folder, name: 'mini' } });
  assert.equal(added.status, 201, added.body);
});
after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('refuses bad bodies with a 400 naming the field, and a model that is not loaded with a 409', async () => {
  const cases: [unknown, number, string | null, RegExp][] = [
    [{}, 400, 'model', /model: is required/],
    [{ model: 'mini', tokens: 10 }, 400, 'tokens', /tokens/],
    [{ model: 'mini', steps: 0 }, 400, 'steps', /steps/],
    [{ model: 'mini', steps: 1.5 }, 400, 'steps', /steps/],
    [{ model: 'mini', retrievalFraction: 2 }, 400, 'retrievalFraction', /retrievalFraction/],
    [{ model: 'mini', extra: 1 }, 400, 'extra', /not a known field/],
    [{ model: 'nobody' }, 404, 'model', /nobody/],
    [{ model: 'mini' }, 409, 'model', /'mini' is not loaded: load it first/],
  ];
  for (const [body, status, param, message] of cases) {
    const res = await api('/api/jobs/gate-train', { method: 'POST', body });
    assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(res.json().error.param, param, res.body);
    assert.match(res.json().error.message, message);
  }
  assert.equal((await load('mini')).events.at(-1)?.event, 'done');
  // Checked against the loaded model before a job starts.
  for (const [body, param, message] of [
    [{ blockSize: 48 }, 'blockSize', /blockSize \(48\) must be a power of two/],
    [{ length: 16384 }, 'length', /length \(16384\) exceeds the model's context \(8192\)/],
    [{ length: 100 }, 'length', /length \(100\) is too short for blocks of 32: a window needs at least 129 tokens/],
  ] as const) {
    const res = await api('/api/jobs/gate-train', { method: 'POST', body: { model: 'mini', ...body } });
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json().error.param, param);
    assert.match(res.json().error.message, message);
  }
  assert.equal((await api('/api/jobs/job_nope')).status, 404);
  assert.equal((await api('/api/jobs/job_nope', { method: 'DELETE' })).status, 404);
  assert.deepEqual((await api('/api/jobs')).json(), { jobs: [] });
});

it('a cancelled training stops within a step, writes nothing, and leaves the old gate byte-identical', async () => {
  const gateBefore = await readFile(join(folder, GATE_WEIGHT_FILE));
  const filesBefore = (await readdir(folder)).sort();
  const started = await api('/api/jobs/gate-train', {
    method: 'POST',
    body: { model: 'mini', ...TINY, steps: 5000 },
  });
  assert.equal(started.status, 202, started.body);
  const job = started.json().job;
  assert.match(job.id, /^job_/);
  assert.equal(job.model, 'mini');
  assert.ok(['queued', 'running'].includes(job.state));

  const stream = readSse(server.port, `/api/jobs/${job.id}/events`, { headers: auth() });
  // Wait for the training phase, then try what must be refused while it runs.
  for (;;) {
    const now = (await api(`/api/jobs/${job.id}`)).json().job;
    if (now.progress?.phase === 'train') break;
    assert.ok(['queued', 'running'].includes(now.state), JSON.stringify(now));
    await new Promise((r) => setTimeout(r, 50));
  }
  const second = await api('/api/jobs/gate-train', { method: 'POST', body: { model: 'mini', ...TINY } });
  assert.equal(second.status, 409, second.body);
  assert.equal(second.json().error.code, 'job_running');
  const unload = await api('/api/models/mini/unload', { method: 'POST' });
  assert.equal(unload.status, 409, unload.body);
  assert.match(unload.json().error.message, /cancel the job first/);

  const t0 = performance.now();
  const cancelled = await api(`/api/jobs/${job.id}`, { method: 'DELETE' });
  const cancelMs = performance.now() - t0;
  assert.equal(cancelled.status, 200, cancelled.body);
  assert.equal(cancelled.json().job.state, 'cancelled');
  assert.equal(cancelled.json().job.result, null);
  assert.ok(cancelMs < 2000, `the cancel took ${cancelMs.toFixed(0)} ms`);
  const { events, endedByServer } = await stream;
  assert.ok(endedByServer);
  assert.equal(events[0].event, 'state');
  assert.equal(events.at(-1)?.event, 'cancelled');
  const train = events.filter((e) => e.event === 'progress' && e.data.progress.phase === 'train');
  assert.ok(train.length >= 1, JSON.stringify(events.slice(0, 5)));
  const p = train.at(-1)!.data.progress;
  assert.equal(p.layers, 4);
  assert.equal(p.steps, 5000);
  assert.ok(p.step >= 1 && p.layer >= 1 && Number.isFinite(p.loss) && p.fraction > 0.25 && p.fraction < 1);

  assert.deepEqual(await readFile(join(folder, GATE_WEIGHT_FILE)), gateBefore, 'the gate file is untouched');
  assert.deepEqual((await readdir(folder)).sort(), filesBefore, 'no file was added or removed');
  const again = await api(`/api/jobs/${job.id}`, { method: 'DELETE' });
  assert.equal(again.status, 409);
  assert.equal(again.json().error.code, 'job_ended');
});

it('a finished training reports loss and recall before and after and writes a gate the engine loads', async () => {
  // A key-bound form in the file (distil_gate.py --form bound) must outlive the new sum form.
  await addBoundGate(join(folder, GATE_WEIGHT_FILE), [0, 1, 2, 3]);
  const gateBefore = await readFile(join(folder, GATE_WEIGHT_FILE));
  const t0 = performance.now();
  const started = await api('/api/jobs/gate-train', { method: 'POST', body: { model: 'mini', ...TINY } });
  assert.equal(started.status, 202, started.body);
  const { id } = started.json().job;
  const { events } = await readSse(server.port, `/api/jobs/${id}/events`, { headers: auth() });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`# gate training on PLAS Mini (${JSON.stringify(TINY)}): ${seconds.toFixed(2)} s`);
  const last = events.at(-1) as SseEvent;
  assert.equal(last.event, 'done', JSON.stringify(last));
  const phases = new Set(events.filter((e) => e.event === 'progress').map((e) => e.data.progress.phase));
  for (const phase of ['capture', 'train', 'write']) assert.ok(phases.has(phase), `no ${phase} progress`);

  const job = last.data.job;
  assert.equal(job.state, 'done');
  const r = job.result;
  assert.equal(r.file, join(folder, GATE_WEIGHT_FILE));
  assert.equal(r.backup, `${r.file}.bak`);
  assert.equal(r.blockSize, 32);
  assert.deepEqual(r.windows, { train: 1, holdout: 1, length: 256 });
  assert.equal(r.layers.length, 4);
  for (const key of ['lossBefore', 'lossAfter', 'recallBefore', 'recallAfter']) {
    assert.ok(Number.isFinite(r.heldOut[key]), `${key}: ${r.heldOut[key]}`);
  }
  assert.ok(r.heldOut.recallAfter >= 0 && r.heldOut.recallAfter <= 1);
  assert.deepEqual((await api(`/api/jobs/${id}`)).json().job.state, 'done');

  // The previous gate is kept as .bak; the new one differs and loads with the engine's shapes.
  assert.deepEqual(await readFile(r.backup), gateBefore);
  assert.notDeepEqual(await readFile(r.file), gateBefore);
  const shape = { numLayers: 4, kvHeads: 2, headDim: 64, blockSize: 32 };
  assert.equal((await loadPlasGateWeights(folder, shape)).layers.filter(Boolean).length, 4);
  assert.ok(!(await readdir(folder)).some((f) => f.endsWith('.new') || f.includes('.tmp-')), 'no temp file is left');

  // Reloaded, the engine runs the new gate.
  assert.equal((await api('/api/models/mini/unload', { method: 'POST' })).json().unloaded, true);
  assert.equal((await load('mini')).events.at(-1)?.event, 'done');
  const plas = (await api('/api/plas')).json();
  // The new gate replaced the sum form; the key-bound form is kept.
  assert.match(plas.gate, /^learned gate on layers 0-3; key-bound gate on layers 0-3$/);
  assert.equal(plas.config.plas_block_size, 32);
});

it('never trains the bundled model: a 403 saying to copy it', async () => {
  const added = await api('/api/models', { method: 'POST', body: { path: DEFAULT_MODEL_DIR, name: 'bundled' } });
  assert.equal(added.status, 201, added.body);
  assert.equal((await load('bundled')).events.at(-1)?.event, 'done');
  const res = await api('/api/jobs/gate-train', { method: 'POST', body: { model: 'bundled', ...TINY } });
  assert.equal(res.status, 403, res.body);
  assert.equal(res.json().error.code, 'bundled_model');
  assert.match(res.json().error.message, /copy its folder elsewhere/);
});
