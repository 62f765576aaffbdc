/**
 * A request's AttentionReport gives its density per layer (prefill and decode apart), from the per-(request, layer)
 * counts of PlasStats; and the engine's default backend switches live (the Tuning page's PLAS on/off).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { EngineConfigError } from '../../../engine/engine-config.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { PlasStats } from '../../../engine/plas/stats.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32, prompts, SPARSE_PLAS, tinyEngineModel } from '../serving/engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

it('PlasStats keeps counts per (request, layer), forgets them when taken and ignores late records', () => {
  const stats = new PlasStats();
  stats.recordBlocks(0, 'a', 10, 5);
  stats.recordBlocks(1, 'a', 10, 10);
  stats.recordBlocks(1, 'a', 8, 2, true);
  stats.recordBlocks(0, 'b', 4, 4);
  const layers = stats.requestLayers('a');
  assert.deepEqual([...layers.keys()], [0, 1]);
  assert.equal(layers.get(0)?.prefillDensity, 0.5);
  assert.equal(layers.get(0)?.decodeDensity, null, 'layer 0 ran no decode unit');
  assert.equal(layers.get(1)?.prefillDensity, 1);
  assert.equal(layers.get(1)?.decodeDensity, 0.25);
  const taken = stats.takeRequest('a');
  assert.equal(taken.layers.get(1)?.decodeDensity, 0.25);
  assert.equal(stats.requestLayers('a').size, 0, 'forgotten once taken');
  stats.recordBlocks(0, 'a', 10, 1); // a last step's readback arriving after the request ended
  assert.deepEqual([...stats.requests().keys()], ['b'], 'a late record does not bring the request back');
  assert.equal(stats.layer(0).candidateBlocks, 24, 'but it still counts for the layer');
});

it('a PLAS request reports each layer; the dense last layer is 1, the others sparse; a dense request is 1', async () => {
  const engine = await Engine.create(await testGpu(), model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    attention: { backend: 'plas', plas: { ...SPARSE_PLAS, denseLastLayer: true }, statsSampleEvery: 1 },
  });
  const layersOf = model.dims.numLayers;
  const [p] = prompts([300], 7);
  const sparse = await collect(engine.generate({ promptTokenIds: p, sampling: greedy(6) }));
  await engine.settledStats();
  const { layerDensity, decodeDensity } = sparse.done.attention;
  assert.ok(layerDensity, 'the engine always reports layers');
  assert.equal(layerDensity.prefill.length, layersOf);
  assert.equal(layerDensity.decode.length, layersOf);
  const last = layersOf - 1;
  assert.equal(layerDensity.decode[last], 1, 'the last layer attends densely');
  for (let l = 0; l < last; l++) {
    const d = layerDensity.decode[l];
    assert.ok(d !== null && d > 0 && d < 0.9, `layer ${l} decode density ${d}`);
  }
  // The request's decode density is the blocks of all layers together: between the sparse layers and the dense one.
  assert.ok(decodeDensity < 1 && decodeDensity > Math.min(...(layerDensity.decode as number[])));

  const dense = await collect(
    engine.generate({ promptTokenIds: p, sampling: greedy(3), attention: { backend: 'dense' } }),
  );
  assert.deepEqual(dense.done.attention.layerDensity, {
    prefill: Array(layersOf).fill(1),
    decode: Array(layersOf).fill(1),
  });
  await engine.close();
});

it('the default backend switches live; PLAS is refused on an engine made without it', async () => {
  const engine = await Engine.create(await testGpu(), model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    attention: { backend: 'dense', plas: SPARSE_PLAS, statsSampleEvery: 1 },
  });
  const [p] = prompts([200], 9);
  assert.equal(engine.defaultBackend, 'dense');
  const before = await collect(engine.generate({ promptTokenIds: p, sampling: greedy(2) }));
  assert.equal(before.done.attention.backend, 'dense');
  engine.setDefaultBackend('plas');
  assert.equal(engine.stats().attention.backend, 'plas');
  const afterSwitch = await collect(engine.generate({ promptTokenIds: p, sampling: greedy(2) }));
  assert.equal(afterSwitch.done.attention.backend, 'plas');
  await engine.close();

  const off = await Engine.create(await testGpu(), model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    attention: { backend: 'dense', allowPlas: false },
  });
  assert.throws(() => off.setDefaultBackend('plas'), EngineConfigError);
  assert.throws(() => off.setDefaultBackend('sparse' as 'plas'), /must be dense or plas/);
  assert.equal(off.defaultBackend, 'dense');
  await off.close();
});
