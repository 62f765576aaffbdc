/** `plas gate train` and `plas eval retrieval` as a user runs them, on a tiny fixture model. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { GATE_WEIGHT_FILE } from '../../../engine/plas/gate-weights.ts';
import { addBoundGate } from '../../fixtures/bound-gate.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const plas = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'main/cli/plas.ts'), ...args, '--software'], {
    cwd: root,
    maxBuffer: 64 * 2 ** 20,
  });

let dir: string;
let model: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-gate-cli-'));
  model = join(dir, 'llama');
  await writeTinyModel(model, { architecture: 'llama', dtype: 'bf16', seed: 8 });
});
after(() => rm(dir, { recursive: true, force: true }));

it('gate train distils a gate into the model folder and reports loss and recall before and after', async () => {
  const { stdout } = await plas(
    'gate',
    'train',
    '--model',
    model,
    '--tokens',
    '1024',
    '--length',
    '256',
    '--block-size',
    '32',
    '--steps',
    '40',
    '--queries',
    '32',
    '--json',
  );
  const report = JSON.parse(stdout);
  assert.equal(report.out, join(model, 'plas_attention_mlp_weight.safetensors'));
  assert.equal(report.blockSize, 32);
  assert.equal(report.layers.length, 2);
  for (const layer of report.layers) {
    assert.ok(layer.after.train.loss < layer.before.train.loss, JSON.stringify(layer));
    assert.ok(layer.before.holdout.recall >= 0 && layer.after.holdout.recall <= 1);
  }
  // The engine now finds the gate: generate with PLAS says so, and runs with its block size.
  const { stderr } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'main/cli/plas.ts'),
      'generate',
      '--model',
      model,
      '--prompt',
      'Hello',
      '--max-tokens',
      '2',
      '--attention-backend',
      'plas',
      '--software',
    ],
    { cwd: root },
  );
  assert.match(stderr, /PLAS attention: learned gate on layers 0-1/);
});

it('gate train names bad flags and data too short for a window', async () => {
  await assert.rejects(plas('gate', 'train', '--model', model, '--retrieval-fraction', '2'), /in \[0, 1\]/);
  const tiny = join(dir, 'tiny.txt');
  await writeFile(tiny, 'Too short.');
  await assert.rejects(
    plas('gate', 'train', '--model', model, '--data', tiny, '--length', '256'),
    /the data has \d+ tokens, fewer than one window of 256/,
  );
});

it('eval retrieval runs every mode on the same documents and reports accuracy, density and the ranges', async () => {
  await addBoundGate(join(model, GATE_WEIGHT_FILE), [0, 1]);
  const { stdout } = await plas(
    'eval',
    'retrieval',
    '--model',
    model,
    '--lengths',
    '384',
    '--samples',
    '2',
    '--block-size',
    '32',
    '--json',
  );
  const report = JSON.parse(stdout);
  assert.deepEqual(
    report.rows.map((r: { mode: string }) => r.mode),
    ['dense', 'plas-mean', 'plas-gate', 'plas-bound', 'plas-bound-gate'],
  );
  const [dense, mean, gate, bound, boundGate] = report.rows;
  assert.equal(dense.density, 1);
  assert.equal(dense.topK, null);
  for (const r of [mean, gate, bound, boundGate]) {
    const scaled = { left: 2, right: 3, limit: 64 };
    assert.deepEqual(r.topK, { encoder: scaled, decoder: scaled }, 'ranges scale with the 12 blocks of 384 tokens');
    assert.ok(r.sparseLayerDensity < 1 && r.density < 1, JSON.stringify(r));
    assert.ok(r.prefillDensity < 1 && r.decodeDensity < 1, `prefill and decode both sparse: ${JSON.stringify(r)}`);
    const lo = Math.min(r.prefillDensity, r.decodeDensity);
    const hi = Math.max(r.prefillDensity, r.decodeDensity);
    assert.ok(r.sparseLayerDensity >= lo && r.sparseLayerDensity <= hi, 'the whole lies between its parts');
    assert.equal(r.samples, 2);
    assert.match(r.perSample, /^[01]{2}$/, 'one mark a document');
    assert.equal([...r.perSample].filter((c: string) => c === '1').length, r.correct);
    assert.ok(r.promptTokens > 300 && r.promptTokens <= 384 - 16, `${r.promptTokens} prompt tokens`);
  }
  assert.equal(mean.promptTokens, dense.promptTokens, 'the same documents for every mode');
  // The first test of this file trained the folder's gate.
  assert.match(gate.gate, /^learned gate on layers 0-1; key-bound gate on layers 0-1$/);
  assert.equal(boundGate.gate, gate.gate);
  assert.match(mean.gate, /^mean pooling on all 2 layers/);
  await assert.rejects(plas('eval', 'retrieval', '--model', model, '--modes', 'dense,sparse'), /unknown mode "sparse"/);
});
