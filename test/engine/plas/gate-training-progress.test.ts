/**
 * Gate training as a host runs it beside other work: structured progress for every window and step, a signal that
 * stops it within a step (rejecting, with no weights), and a yielding Adam that gives the same weights as trainGate.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { SamplingRng } from '../../../engine/generation/rng.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import { captureQueriesAndKeys } from '../../../engine/plas/attention-capture.ts';
import { addSequence, type LayerProblem, meanPoolingGate, trainGate } from '../../../engine/plas/gate-distill.ts';
import { distilGate, type GateTrainingProgress, trainGateYielding } from '../../../engine/plas/gate-training.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { prompts, tinyEngineModel } from '../serving/engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

const blockSize = 16;

it('reports every captured window and every step of every layer, in order', async () => {
  const gpu = await testGpu();
  const seen: GateTrainingProgress[] = [];
  const result = await distilGate(gpu, model, prompts([160, 160, 160], 3), {
    blockSize,
    steps: 5,
    queriesPerWindow: 16,
    onProgress: (p) => seen.push(p),
  });
  const layers = model.dims.numLayers;
  assert.deepEqual(
    seen.filter((p) => p.phase === 'capture'),
    [1, 2, 3].map((window) => ({ phase: 'capture', window, windows: 3 })),
  );
  const train = seen.filter((p) => p.phase === 'train');
  assert.equal(train.length, layers * 5);
  train.forEach((p, i) => {
    assert.equal(p.layer, Math.floor(i / 5) + 1);
    assert.equal(p.step, (i % 5) + 1);
    assert.equal(p.layers, layers);
    assert.equal(p.steps, 5);
    assert.ok(Number.isFinite(p.loss) && p.loss >= 0);
  });
  assert.equal(
    seen.findIndex((p) => p.phase === 'train'),
    3,
    'training starts after the last window',
  );
  assert.equal(result.weights.length, layers);
});

it('stops within a step when its signal aborts, and rejects with the reason', async () => {
  const gpu = await testGpu();
  const controller = new AbortController();
  let steps = 0;
  const reason = new Error('stop now');
  await assert.rejects(
    distilGate(gpu, model, prompts([160, 160], 4), {
      blockSize,
      steps: 100_000,
      queriesPerWindow: 16,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase !== 'train') return;
        steps++;
        if (p.step === 3) controller.abort(reason);
      },
    }),
    (e) => e === reason,
  );
  assert.equal(steps, 3, 'no step ran after the abort');
  // Aborted before it starts: nothing is captured.
  let captured = 0;
  await assert.rejects(
    distilGate(gpu, model, prompts([160, 160], 4), {
      blockSize,
      signal: AbortSignal.abort(reason),
      onProgress: () => captured++,
    }),
    (e) => e === reason,
  );
  assert.equal(captured, 0);
});

it('the yielding Adam gives exactly the weights of trainGate', async () => {
  const gpu = await testGpu();
  const d = model.dims;
  const shape = { heads: d.heads, kvHeads: d.kvHeads, D: d.headDim, blockSize };
  const problem: LayerProblem = { shape, keys: [], rows: [] };
  const ids = prompts([200], 9)[0];
  const [layer0] = await captureQueriesAndKeys(gpu, model, ids);
  addSequence(problem, layer0, ids.length, 24, new SamplingRng(5));
  const o = { steps: 40, lr: 2e-3 / blockSize, recallFraction: 0.25 };
  const sync = trainGate(problem, meanPoolingGate(shape), o);
  const yielding = await trainGateYielding(problem, meanPoolingGate(shape), o);
  assert.deepEqual(yielding, sync);
});
