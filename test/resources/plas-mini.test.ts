/**
 * The bundled default model, PLAS Mini (resources/models/plas-mini): it loads with its learned PLAS gate, the engine
 * reproduces the greedy tokens PyTorch computed from the same float16 weights at export (reference.json: an
 * independent implementation of the same model), and `plas generate --chat` with no --model answers in its chat
 * format.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { Engine } from '../../engine/engine.ts';
import { type LoadedModel, loadModel } from '../../engine/model/load-model.ts';
import { DEFAULT_MODEL_DIR } from '../../main/cli/default-model.ts';
import { collect, greedy } from '../engine/serving/engine-fixture.ts';
import { testGpu } from '../helpers/gpu.ts';

interface Reference {
  text: string;
  promptIds: number[];
  greedy: number[];
}

let model: LoadedModel;
before(async () => {
  model = await loadModel(await testGpu(), DEFAULT_MODEL_DIR);
});
after(() => model.dispose());

it('is a small Llama with a chat template, float16 weights and a learned PLAS gate in both forms', async () => {
  assert.equal(model.config.architecture, 'LlamaForCausalLM');
  assert.ok(model.tokenizer.chatTemplate?.includes('<|im_start|>'));
  assert.ok(model.config.eosTokenIds.includes(model.tokenizer.tokenToId('<|im_end|>')!));
  const engine = await Engine.create(await testGpu(), model, { attention: { backend: 'plas' } });
  assert.equal(engine.plasConfig.plas_block_size, 32, 'the block size the gate was trained for');
  const layers = `layers 0-${model.dims.numLayers - 1}`;
  assert.equal(engine.stats().attention.gate, `learned gate on ${layers}; key-bound gate on ${layers}`);
  await engine.close();
});

it('reproduces the greedy tokens PyTorch computed at export', async () => {
  const { references } = JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'reference.json'), 'utf8')) as {
    references: Reference[];
  };
  assert.ok(references.length >= 2);
  const engine = await Engine.create(await testGpu(), model);
  for (const r of references) {
    assert.deepEqual(model.tokenizer.encode(r.text, { addSpecialTokens: false }), r.promptIds, 'same prompt ids');
    const got = await collect(engine.generate({ promptTokenIds: r.promptIds, sampling: greedy(r.greedy.length) }));
    assert.deepEqual(got.ids, r.greedy, JSON.stringify(r.text));
  }
  await engine.close();
});

it('plas generate --chat with no --model answers in the chat format and stops at the end of its turn', async () => {
  const root = join(import.meta.dirname, '..', '..');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(root, 'main/cli/plas.ts'), 'generate', '--chat', 'Who are you?', '--json', '--software'],
    { cwd: root },
  );
  const out = JSON.parse(stdout);
  assert.equal(out.model, DEFAULT_MODEL_DIR);
  assert.equal(out.finishReason, 'stop', `ended by ${out.finishReason}: ${out.text}`);
  assert.match(out.text, /PLAS Mini/);
});
