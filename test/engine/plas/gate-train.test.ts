/**
 * Gate training on a real (tiny) model through the GPU: queries and keys captured by the paged forward pass do not
 * depend on how the sequence is chunked; distillation lowers every layer's loss; the written gate file loads, and the
 * engine then runs PLAS with the block size the gate was trained for.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { captureQueriesAndKeys } from '../../../engine/plas/attention-capture.ts';
import { distilGate } from '../../../engine/plas/gate-training.ts';
import {
  GATE_WEIGHT_FILE,
  gateBlockSize,
  loadPlasGateWeights,
  writeGateWeights,
} from '../../../engine/plas/gate-weights.ts';
import { assertClose } from '../../helpers/close.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, prompts, tinyEngineModel } from '../serving/engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

describe('PLAS gate training on a fixture model', () => {
  it('captures the same queries and keys whatever the chunking', async () => {
    const gpu = await testGpu();
    const [ids] = prompts([200], 3);
    const whole = await captureQueriesAndKeys(gpu, model, ids, 1000);
    const chunked = await captureQueriesAndKeys(gpu, model, ids, 48);
    assert.equal(whole.length, model.dims.numLayers);
    whole.forEach((layer, l) => {
      assertClose(chunked[l].q, layer.q, { rtol: 1e-4 }, `layer ${l} q`);
      assertClose(chunked[l].k, layer.k, { rtol: 1e-4 }, `layer ${l} k`);
    });
    assert.ok(whole[0].k.some((x) => x !== 0) && whole.at(-1)!.q.some((x) => x !== 0));
  });

  it('lowers every layer loss, writes a gate the engine loads and uses with its block size', async () => {
    const gpu = await testGpu();
    const windows = prompts([256, 256, 256, 256], 11);
    const blockSize = 16;
    const result = await distilGate(gpu, model, windows, { blockSize, steps: 60, queriesPerWindow: 48, seed: 2 });
    assert.equal(result.weights.length, model.dims.numLayers);
    assert.equal(result.trainWindows + result.holdoutWindows, 4);
    for (const r of result.layers) {
      assert.ok(r.before.train.rows > 100, `layer ${r.layer}: ${r.before.train.rows} rows`);
      assert.ok(
        r.after.train.loss < r.before.train.loss,
        `layer ${r.layer}: loss ${r.before.train.loss} -> ${r.after.train.loss}`,
      );
      assert.ok(r.before.holdout.rows > 0 && Number.isFinite(r.after.holdout.loss));
    }

    const d = model.dims;
    const shape = { numLayers: d.numLayers, kvHeads: d.kvHeads, headDim: d.headDim, blockSize };
    await writeGateWeights(join(model.dir, GATE_WEIGHT_FILE), result.weights, shape);
    assert.equal(await gateBlockSize(model.dir), blockSize);
    const loaded = await loadPlasGateWeights(model.dir, shape);
    for (const [l, w] of loaded.layers.entries()) assert.deepEqual(w, result.weights[l], `layer ${l} round trip`);

    // No block size given: the engine takes the gate's (16), with pages of 16 so that they divide it.
    const engine = await Engine.create(gpu, model, {
      attention: {
        backend: 'plas',
        plas: {
          plas_encoder_top_k_left: 2,
          plas_encoder_top_k_right: 3,
          plas_decoder_top_k_left: 2,
          plas_decoder_top_k_right: 3,
        },
        statsSampleEvery: 1,
      },
    });
    assert.equal(engine.plasConfig.plas_block_size, 16);
    assert.equal(engine.stats().kv.pageSize, 16);
    assert.match(engine.stats().attention.gate, /^learned gate on layers 0-1$/);
    const r = await collect(engine.generate({ promptTokenIds: prompts([200], 5)[0], sampling: greedy(4) }));
    assert.equal(r.ids.length, 4);
    const stats = await engine.settledStats();
    const sparse = stats.attention.layers.find(([l]) => l === 0)![1];
    assert.ok(sparse.selectedBlocks < sparse.candidateBlocks, `layer 0 attended ${JSON.stringify(sparse)}`);
    await engine.close();

    // Asked for mean pooling, the same folder's gate is not read: even at a block size the gate was not trained for.
    const mean = await Engine.create(gpu, model, { attention: { backend: 'plas', gate: 'mean' } });
    assert.match(mean.stats().attention.gate, /mean pooling on all 2 layers \(asked for/);
    await mean.close();
    const other = { backend: 'plas', plas: { plas_block_size: 32 } } as const;
    const cache = { pageSize: 16 };
    const mean32 = await Engine.create(gpu, model, { cache, attention: { ...other, gate: 'mean' } });
    assert.equal(mean32.plasConfig.plas_block_size, 32);
    await mean32.close();
    await assert.rejects(
      Engine.create(gpu, model, { cache, attention: other }),
      /has shape \[\d+, 16, \d+\], expected \[\d+, 32, \d+\]/,
      'the learned gate is checked against the block size',
    );
  });
});
