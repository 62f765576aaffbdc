/**
 * PLAS in the engine, end to end on a fixture model: it generates with sparse attention really running, equals dense
 * when every block is selected, and a live change of the ranges takes effect at the next step.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import type { LoadedModel } from '../../../engine/model/load-model.ts';
import type { PlasConfig } from '../../../engine/plas/config.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { collect, greedy, MB32, prompts, SPARSE_PLAS, tinyEngineModel } from './engine-fixture.ts';

let model: LoadedModel;
let cleanup: () => Promise<void>;
before(async () => {
  ({ model, cleanup } = await tinyEngineModel());
});
after(() => cleanup());

const SPARSE = SPARSE_PLAS;
const EVERYTHING: Partial<PlasConfig> = {
  plas_encoder_top_k_left: 1000,
  plas_encoder_top_k_right: 1000,
  plas_decoder_top_k_left: 1000,
  plas_decoder_top_k_right: 1000,
};

async function engine(backend: 'plas' | 'dense', plas: Partial<PlasConfig> = SPARSE): Promise<Engine> {
  return Engine.create(await testGpu(), model, {
    cache: { pageSize: 16, memoryBytes: MB32 },
    attention: { backend, plas, statsSampleEvery: 1 },
  });
}

function totals(e: Engine): { candidates: number; selected: number } {
  let candidates = 0;
  let selected = 0;
  for (const [, s] of e.stats().attention.layers) {
    candidates += s.candidateBlocks;
    selected += s.selectedBlocks;
  }
  return { candidates, selected };
}

it('generates with sparse attention: fewer blocks than candidates are attended', async () => {
  const e = await engine('plas');
  const [prompt] = prompts([300], 17);
  const r = await collect(e.generate({ promptTokenIds: prompt, sampling: greedy(8) }));
  assert.equal(r.ids.length, 8);
  const { candidates, selected } = totals(e);
  assert.ok(candidates > 0 && selected < candidates, `selected ${selected} of ${candidates} blocks`);
  assert.match(e.stats().attention.gate, /mean pooling/);
  await e.close();
});

it('with every block selected, PLAS gives exactly the tokens of dense attention', async () => {
  const [prompt] = prompts([300], 19);
  const dense = await engine('dense');
  const expected = (await collect(dense.generate({ promptTokenIds: prompt, sampling: greedy(8) }))).ids;
  await dense.close();
  const all = await engine('plas', { ...SPARSE, ...EVERYTHING });
  const got = (await collect(all.generate({ promptTokenIds: prompt, sampling: greedy(8) }))).ids;
  await all.close();
  assert.deepEqual(got, expected);
});

it('changing the ranges mid-generation takes effect at the next step, without reloading', async () => {
  const e = await engine('plas');
  const [prompt] = prompts([300], 23);
  const perToken: { candidates: number; selected: number }[] = [];
  let previous = totals(e);
  let n = 0;
  for await (const event of e.generate({ promptTokenIds: prompt, sampling: greedy(8) })) {
    if (event.type !== 'token') continue;
    await new Promise((r) => setImmediate(r));
    const now = totals(e);
    perToken.push({ candidates: now.candidates - previous.candidates, selected: now.selected - previous.selected });
    previous = now;
    if (++n === 4) e.setPlasConfig(EVERYTHING);
  }
  // Tokens 2-4 came from sparse decode steps; tokens 5-8 from steps after the update, which select every block
  // (the last layer is dense either way).
  for (const d of perToken.slice(1, 4)) assert.ok(d.selected < d.candidates, `before: ${JSON.stringify(perToken)}`);
  for (const d of perToken.slice(5)) assert.equal(d.selected, d.candidates, `after: ${JSON.stringify(perToken)}`);
  assert.equal(e.plasConfig.plas_decoder_top_k_left, 1000);
  assert.throws(
    () => e.setPlasConfig({ plas_decoder_top_k_left: 10, plas_decoder_top_k_right: 5 }),
    /plas_decoder_top_k_left \(10\)/,
  );
  assert.equal(e.plasConfig.plas_decoder_top_k_left, 1000, 'a rejected update changes nothing');
  await e.close();
});
