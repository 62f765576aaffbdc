/**
 * Dense or PLAS per request: in one batch, a dense request equals the same request on a dense-only engine, while a
 * PLAS request beside it attends a fraction of the blocks; a request's own ranges apply to it alone.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { PlasConfig } from '../../../engine/plas/config.ts';
import { InvalidRequestError } from '../../../engine/serving/errors.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32, prompts, SPARSE_PLAS, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

const SPARSE: Partial<PlasConfig> = { ...SPARSE_PLAS, denseLastLayer: false };

async function engine(input: Parameters<typeof Engine.create>[2] = {}): Promise<Engine> {
  return Engine.create(await testGpu(), model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    ...input,
    attention: { plas: SPARSE, statsSampleEvery: 1, ...input.attention },
  });
}

it('in one batch, a dense request equals a dense-only engine while a PLAS request beside it is sparse', async () => {
  const [a, b] = prompts([300, 280], 31);
  const denseOnly = await engine({ attention: { backend: 'dense', allowPlas: false } });
  const [expectedA, expectedB] = await Promise.all([
    collect(denseOnly.generate({ promptTokenIds: a, sampling: greedy(8) })),
    collect(denseOnly.generate({ promptTokenIds: b, sampling: greedy(8) })),
  ]);
  await denseOnly.close();

  const mixed = await engine({ attention: { backend: 'dense' } });
  const [dense, sparse] = await Promise.all([
    collect(mixed.generate({ promptTokenIds: a, sampling: greedy(8) })),
    collect(mixed.generate({ promptTokenIds: b, sampling: greedy(8), attention: { backend: 'plas' } })),
  ]);
  assert.deepEqual(dense.ids, expectedA.ids, 'the dense request is unchanged by its PLAS neighbour');
  assert.equal(dense.done.attention.backend, 'dense');
  assert.equal(dense.done.attention.prefillDensity, 1);
  assert.equal(sparse.done.attention.backend, 'plas');
  const s = sparse.done.attention;
  // Prefill tiles union the blocks their queries chose, which at 280 tokens covers most of them; decode is sparse.
  assert.ok(s.prefillDensity <= 1 && s.decodeDensity < 0.9, JSON.stringify(s));
  assert.ok(s.blocksSelected < s.blocksCandidate);
  assert.equal(s.plas.plas_decoder_top_k_right, 3, 'the report gives the ranges in force');
  // Selecting every block, PLAS gives the dense tokens.
  const all = await collect(
    mixed.generate({
      promptTokenIds: b,
      sampling: greedy(8),
      attention: {
        backend: 'plas',
        plas: {
          plas_encoder_top_k_left: 100,
          plas_encoder_top_k_right: 100,
          plas_decoder_top_k_left: 100,
          plas_decoder_top_k_right: 100,
        },
      },
    }),
  );
  assert.equal(all.done.attention.blocksSelected, all.done.attention.blocksCandidate);
  assert.deepEqual(all.ids, expectedB.ids);
  assert.equal(mixed.plasConfig.plas_decoder_top_k_right, 3, "a request's ranges do not change the engine's");
  await mixed.close();
});

it('refuses PLAS on an engine made without it, and bad ranges, naming the field', async () => {
  const e = await engine({ attention: { backend: 'dense', allowPlas: false } });
  const [p] = prompts([20], 3);
  await assert.rejects(
    collect(e.generate({ promptTokenIds: p, sampling: greedy(2), attention: { backend: 'plas' } })),
    (err: unknown) => err instanceof InvalidRequestError && err.field === 'attention.backend',
  );
  await e.close();
  const plas = await engine();
  await assert.rejects(
    collect(
      plas.generate({
        promptTokenIds: p,
        sampling: greedy(2),
        attention: { backend: 'plas', plas: { plas_decoder_top_k_left: 9, plas_decoder_top_k_right: 2 } },
      }),
    ),
    (err: unknown) =>
      err instanceof InvalidRequestError &&
      err.field === 'attention.plas' &&
      /plas_decoder_top_k_left \(9\)/.test(err.message),
  );
  assert.equal(plas.stats().kv.keySumBytes > 0, true, 'key sums are kept on an engine that allows PLAS');
  await plas.close();
});

it('pages computed under one attention are shared only with requests that attend the same way', async () => {
  // Past the first layer K and V depend on how the layers below attended: a PLAS request must not reuse the pages a
  // dense one computed (the A/B on the Tuning page would compare PLAS decode over dense prefill), nor the reverse.
  assert.ok(model.dims.numLayers > 1);
  const e = await engine({ attention: { backend: 'dense' } });
  const [p] = prompts([200], 41);
  const run = async (attention?: Parameters<Engine['generate']>[0]['attention']) =>
    (await collect(e.generate({ promptTokenIds: p, sampling: greedy(2), ...(attention ? { attention } : {}) }))).done
      .usage.cachedPromptTokens;
  const FULL = Math.floor((p.length - 1) / 16) * 16; // every full page but the one holding the last prompt token
  assert.equal(await run(), 0);
  assert.equal(await run(), FULL, 'dense after dense: the prompt is cached');
  assert.equal(await run({ backend: 'plas' }), 0, 'PLAS does not reuse the pages dense attention computed');
  assert.equal(await run({ backend: 'plas' }), FULL, 'PLAS after PLAS with the same ranges: cached');
  assert.equal(await run({ backend: 'plas', plas: { plas_encoder_top_k_left: 2, plas_encoder_top_k_right: 4 } }), 0);
  e.setPlasConfig({ plas_decoder_top_k_left: 4, plas_decoder_top_k_right: 6 });
  assert.equal(await run({ backend: 'plas' }), 0, 'a live change of the ranges starts new pages');
  assert.equal(await run(), FULL, 'the dense pages are still there for dense requests');
  await e.close();
});
