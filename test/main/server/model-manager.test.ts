/**
 * The model manager on the GPU with tiny models and a real SQLite registry: JIT loading on acquire, shared loads,
 * keep-alive, one model at a time (an idle one is replaced, a busy one refuses the switch), failures that say why,
 * and names that never become paths.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelBusyError, ModelLoadError, UnknownModelError } from '../../../main/server/context.ts';
import { engineLoader, type ModelLoader } from '../../../main/server/models/model-loader.ts';
import { LocalModelManager, type ModelManagerOptions } from '../../../main/server/models/model-manager.ts';
import { addModel } from '../../../main/server/models/registry.ts';
import { type Db, openDatabase } from '../../../main/store/database.ts';
import { ModelsRepository } from '../../../main/store/models-repo.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { TEST_ENGINE } from './server-fixture.ts';

let dir: string;
let db: Db;
let repo: ModelsRepository;
const managers: LocalModelManager[] = [];
const loads: string[] = [];

/** The real loader, counting loads by folder. */
const countingLoader: ModelLoader = (gpu, path, config, onProgress) => {
  loads.push(path);
  return engineLoader(gpu, path, config, onProgress);
};

async function manager(options: Partial<ModelManagerOptions> = {}): Promise<LocalModelManager> {
  const m = new LocalModelManager({
    gpu: await testGpu(),
    repo,
    engine: TEST_ENGINE,
    loader: countingLoader,
    ...options,
  });
  managers.push(m);
  return m;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-manager-'));
  db = openDatabase(join(dir, 'plas.db'));
  repo = new ModelsRepository(db);
  await writeTinyModel(join(dir, 'alpha'), { architecture: 'llama', dtype: 'f16', seed: 1 });
  await writeTinyModel(join(dir, 'beta'), { architecture: 'qwen3', dtype: 'f16', seed: 2 });
  await addModel(repo, join(dir, 'alpha'));
  await addModel(repo, join(dir, 'beta'));
});
after(async () => {
  for (const m of managers) await m.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
});

it('loads a registered model on first acquire, and shares one load between concurrent acquires', async () => {
  const m = await manager();
  assert.match(m.notReady() ?? '', /no model is loaded \(the next request loads 'alpha'\)/);
  loads.length = 0;
  const [a, b, c] = await Promise.all([m.acquire('alpha'), m.acquire('alpha'), m.acquire(undefined)]);
  assert.equal(loads.length, 1, 'one load for three acquires');
  assert.equal(a.engine, b.engine);
  assert.equal(c.name, 'alpha');
  assert.equal(a.contextLength, a.model.config.maxPositionEmbeddings);
  assert.equal(m.notReady(), null);
  assert.deepEqual(
    m.list().map((s) => [s.name, s.loaded]),
    [
      ['alpha', true],
      ['beta', false],
    ],
  );
  // Busy: switching to beta is refused while alpha serves requests.
  await assert.rejects(
    m.acquire('beta'),
    (e: Error) => e instanceof ModelBusyError && /'alpha' is serving 3/.test(e.message),
  );
  for (const lease of [a, b, c]) lease.release();
  a.release(); // twice is harmless
  assert.equal(m.loaded()?.leases, 0);
  // Idle now: beta replaces it.
  const beta = await m.acquire('beta', 0);
  assert.equal(beta.model.config.architecture, 'Qwen3ForCausalLM');
  assert.equal(m.loaded()?.name, 'beta');
  assert.deepEqual(
    m.list().map((s) => s.name),
    ['beta', 'alpha'],
    'the loaded model first',
  );
  beta.release();
  // keep-alive 0: unloaded as soon as the last lease is released.
  for (let i = 0; i < 100 && m.loaded(); i++) await sleep(10);
  assert.equal(m.loaded(), null);
});

it('keeps a model for its keep-alive after the last request, and forever with -1', async () => {
  const m = await manager({ defaultKeepAliveMs: 300 });
  const lease = await m.acquire('alpha');
  await sleep(400);
  assert.equal(m.loaded()?.name, 'alpha', 'a leased model never times out');
  lease.release();
  await sleep(100);
  assert.equal(m.loaded()?.name, 'alpha', 'still within its keep-alive');
  for (let i = 0; i < 100 && m.loaded(); i++) await sleep(20);
  assert.equal(m.loaded(), null, 'unloaded after its keep-alive');
  assert.match(m.notReady() ?? '', /no model is loaded/);

  (await m.acquire('alpha', -1)).release();
  await sleep(500);
  assert.equal(m.loaded()?.name, 'alpha', 'keep_alive -1 keeps it');
  // A model's own keep-alive (from the registry) applies when the request gives none.
  repo.setKeepAlive('alpha', 50);
  (await m.acquire('alpha')).release();
  for (let i = 0; i < 100 && m.loaded(); i++) await sleep(20);
  assert.equal(m.loaded(), null);
  repo.setKeepAlive('alpha', null);
});

it('unload ends the model; remove unregisters it; neither touches a busy model silently', async () => {
  const m = await manager();
  const lease = await m.acquire('alpha');
  await assert.rejects(m.remove('alpha'), ModelBusyError);
  assert.equal(await m.unload('alpha'), true, 'an explicit unload closes it even while leased');
  assert.equal(m.loaded(), null);
  lease.release(); // the lease of an unloaded model: nothing left to do
  assert.equal(await m.unload('alpha'), false);
  await addModel(repo, join(dir, 'alpha'), 'alpha-copy');
  await m.load('alpha-copy');
  await m.remove('alpha-copy');
  assert.equal(m.loaded(), null, 'removing the loaded (idle) model unloads it');
  assert.equal(repo.get('alpha-copy'), undefined);
  await assert.rejects(m.remove('alpha-copy'), UnknownModelError);
});

it('a failed load says why, in the error and in notReady()', async () => {
  const broken = join(dir, 'broken');
  await writeTinyModel(broken, { architecture: 'llama', dtype: 'f16' });
  await addModel(repo, broken);
  // The folder changes after it was added: the weights are truncated.
  await writeFile(join(broken, 'model.safetensors'), Buffer.alloc(16));
  const m = await manager();
  await assert.rejects(
    m.acquire('broken'),
    (e: Error) =>
      e instanceof ModelLoadError && /could not load the model 'broken': .*model\.safetensors/.test(e.message),
  );
  assert.match(m.notReady() ?? '', /loading 'broken' failed: .*model\.safetensors/);
  repo.remove('broken');
});

it('a name resolves through the registry only: path-like names are unknown models, whatever exists on disk', async () => {
  const m = await manager();
  // A name that, read as a path from here, would reach a real model folder.
  const sneaky = relative(process.cwd(), join(dir, 'alpha'));
  loads.length = 0;
  for (const name of [sneaky, join(dir, 'alpha'), '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', 'alpha/../beta']) {
    await assert.rejects(m.acquire(name), UnknownModelError, name);
    await assert.rejects(m.load(name), UnknownModelError, name);
    assert.throws(() => m.get(name), UnknownModelError, name);
  }
  assert.equal(loads.length, 0, 'nothing was loaded');
  await assert.rejects(m.acquire('nope'), /The model 'nope' does not exist/);
});

it('--served-model-name answers for the default model, and --max-model-len caps the context', async () => {
  const m = await manager({ defaultModel: 'beta', servedModelName: 'my-model', maxModelLen: 512 });
  const lease = await m.acquire('my-model');
  assert.equal(lease.name, 'beta');
  assert.equal(lease.contextLength, 512);
  assert.equal(m.get('beta').contextLength, 512, 'listed with the context requests get');
  lease.release();
  await m.close();
  await assert.rejects(m.acquire('beta'), /shutting down/);
  assert.equal(m.loaded(), null);
});
