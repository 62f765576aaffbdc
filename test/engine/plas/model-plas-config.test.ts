/**
 * A model's recommended PLAS config (plas_config.json in its folder): validated as untrusted input (errors name the
 * file and the key), loaded by the engine as that model's default, under what the caller asks for; and PLAS Mini's
 * own file resolves to the settings its card measured.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine } from '../../../engine/engine.ts';
import { engineConfig } from '../../../engine/engine-config.ts';
import { type LoadedModel, loadModel } from '../../../engine/model/load-model.ts';
import { PlasConfigError } from '../../../engine/plas/config.ts';
import { gateFileOf } from '../../../engine/plas/gate-weights.ts';
import {
  loadModelPlasConfig,
  MODEL_PLAS_CONFIG_FILE,
  ModelPlasConfigError,
  withModelDefaults,
  withModelPlasConfig,
} from '../../../engine/plas/model-plas-config.ts';
import { DEFAULT_MODEL_DIR } from '../../../main/cli/default-model.ts';
import { testGpu } from '../../helpers/gpu.ts';
import { MB32, tinyEngineModel } from '../serving/engine-fixture.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-model-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const write = (folder: string, text: string) => writeFile(join(folder, MODEL_PLAS_CONFIG_FILE), text);

describe('plas_config.json', () => {
  it('absent, or a model that is a file (GGUF): no recommended settings', async () => {
    assert.equal(await loadModelPlasConfig(dir), null);
    const gguf = join(dir, 'model.gguf');
    await writeFile(gguf, 'GGUF');
    assert.equal(await loadModelPlasConfig(gguf), null);
  });

  it('gives the keys it sets (a comment aside), validated over the defaults', async () => {
    await write(
      dir,
      '{"comment": "measured", "plas_encoder_top_k_left": 2, "plas_encoder_top_k_right": 3, "topkSearch": "original"}',
    );
    assert.deepEqual(await loadModelPlasConfig(dir), {
      plas_encoder_top_k_left: 2,
      plas_encoder_top_k_right: 3,
      topkSearch: 'original',
    });
  });

  it('a bad file is an error naming the file and the key, never a crash', async () => {
    const path = join(dir, MODEL_PLAS_CONFIG_FILE);
    const bad: [string, RegExp][] = [
      ['{"plas_encoder_top_k_left": 70}', /plas_encoder_top_k_left \(70\) must be <= plas_encoder_top_k_right \(60\)/],
      ['{"plas_decoder_top_k_right": "8"}', /plas_decoder_top_k_right \("8"\) must be an integer in \[1, 65536\]/],
      ['{"topkSearch": "exact"}', /topkSearch \("exact"\) must be refined or original/],
      ['{"top_k": 3}', /unknown PLAS config key "top_k"/],
      ['{"comment": 7}', /comment must be a string, got 7/],
      ['{"plas_block_size": 48}', /plas_block_size \(48\) must be a power of two in \[16, 256\]/],
      ['[1, 2]', /must be a JSON object of PLAS settings, got \[1,2\]/],
      ['null', /must be a JSON object of PLAS settings, got null/],
      ['{"plas_encoder_top_k_left": 2,', /is not valid JSON/],
      [`{"comment": "${'x'.repeat(70_000)}"}`, /is 700\d\d bytes; a PLAS config is at most 65536/],
    ];
    for (const [text, message] of bad) {
      await write(dir, text);
      await assert.rejects(
        loadModelPlasConfig(dir),
        (e: Error) =>
          e instanceof ModelPlasConfigError &&
          e instanceof PlasConfigError &&
          e.message.startsWith(`${path}: `) &&
          message.test(e.message),
        text.slice(0, 60),
      );
    }
    await rm(path);
  });

  it("the caller's settings win key by key; a side whose range the caller sets takes its own default limit", () => {
    const file = {
      plas_encoder_top_k_left: 2,
      plas_encoder_top_k_right: 3,
      plas_use_encoder_seq_limit: 512,
      plas_use_decoder_seq_limit: 999,
    };
    assert.deepEqual(withModelDefaults(null, { iterations: 4 }), { iterations: 4 });
    assert.deepEqual(withModelDefaults(file, { iterations: 4, denseLastLayer: true }), {
      ...file,
      iterations: 4,
      denseLastLayer: true,
    });
    // The caller's encoder range: the encoder limit follows the caller's left in the engine; the decoder's stays.
    const encoder = withModelDefaults(file, { plas_encoder_top_k_right: 5 });
    assert.equal(encoder.plas_use_encoder_seq_limit, undefined);
    assert.equal(encoder.plas_encoder_top_k_left, 2);
    assert.equal(encoder.plas_use_decoder_seq_limit, 999);
    // A limit the caller gives is theirs.
    const both = withModelDefaults(file, { plas_decoder_top_k_left: 8, plas_use_decoder_seq_limit: 0 });
    assert.equal(both.plas_use_decoder_seq_limit, 0);
    assert.equal(withModelDefaults(file, { plas_decoder_top_k_left: 8 }).plas_use_decoder_seq_limit, undefined);
  });

  it("PLAS Mini's file: blocks of 32, sparse prefill from 512 tokens, key-bound decode from 512; flags still win", async () => {
    assert.ok(await loadModelPlasConfig(DEFAULT_MODEL_DIR), 'the bundled model has a plas_config.json');
    const gpu = await testGpu();
    const model = await loadModel(gpu, DEFAULT_MODEL_DIR);
    try {
      const engine = await Engine.create(gpu, model, { cache: { memoryBytes: MB32 }, attention: { backend: 'plas' } });
      const c = engine.config.attention.plas;
      await engine.close();
      assert.equal(c.plas_block_size, 32);
      assert.equal(engine.config.cache.pageSize, 32, 'pages shrink to the block');
      assert.deepEqual([c.plas_encoder_top_k_left, c.plas_encoder_top_k_right], [1, 1]);
      assert.equal(c.plas_use_encoder_seq_limit, 512);
      assert.deepEqual([c.plas_decoder_top_k_left, c.plas_decoder_top_k_right], [16, 16]);
      assert.equal(c.plas_use_decoder_seq_limit, 16 * 32, 'the decode limit follows left x block size');
      assert.deepEqual([c.encoderBlockScore, c.decoderBlockScore], ['gate', 'bound-gate']);
      assert.equal(c.topkSearch, 'refined');
      assert.equal(c.denseLastLayer, false);
      const input = { attention: { plas: { plas_use_decoder_seq_limit: 0, topkSearch: 'original' as const } } };
      const flags = engineConfig(await withModelPlasConfig(DEFAULT_MODEL_DIR, gateFileOf(DEFAULT_MODEL_DIR), input));
      assert.equal(flags.attention.plas.plas_use_decoder_seq_limit, 0);
      assert.equal(flags.attention.plas.topkSearch, 'original');
      assert.equal(flags.attention.plas.plas_use_encoder_seq_limit, 512);
    } finally {
      model.dispose();
    }
  });
});

describe('the engine loads a model folder’s plas_config.json as its default', () => {
  let model: LoadedModel;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ model, cleanup } = await tinyEngineModel());
  });
  after(async () => {
    await rm(join(model.dir, MODEL_PLAS_CONFIG_FILE), { force: true });
    await cleanup();
  });

  it('under what the caller asks for; the block size it fixes shrinks the pages', async () => {
    await write(
      model.dir,
      JSON.stringify({
        plas_block_size: 32,
        plas_encoder_top_k_left: 2,
        plas_encoder_top_k_right: 3,
        plas_use_decoder_seq_limit: 999,
        topkSearch: 'original',
        denseLastLayer: false,
      }),
    );
    const gpu = await testGpu();
    const engine = await Engine.create(gpu, model, { cache: { memoryBytes: MB32 }, attention: { backend: 'plas' } });
    try {
      const c = engine.config.attention.plas;
      assert.equal(engine.config.cache.pageSize, 32);
      assert.deepEqual(
        [c.plas_block_size, c.plas_encoder_top_k_left, c.plas_encoder_top_k_right, c.plas_use_encoder_seq_limit],
        [32, 2, 3, 64],
      );
      assert.equal(c.plas_use_decoder_seq_limit, 999);
      assert.equal(c.topkSearch, 'original');
      assert.equal(c.denseLastLayer, false);
      assert.deepEqual(engine.plasConfig, c, 'the live config starts at the model default (the Reset target)');
    } finally {
      await engine.close();
    }
    const own = await Engine.create(gpu, model, {
      cache: { memoryBytes: MB32 },
      attention: { plas: { plas_encoder_top_k_left: 1, denseLastLayer: true } },
    });
    try {
      const c = own.config.attention.plas;
      assert.equal(c.plas_encoder_top_k_left, 1, "the caller's left");
      assert.equal(c.plas_use_encoder_seq_limit, 32, "the limit follows the caller's left");
      assert.equal(c.plas_encoder_top_k_right, 3, "the file's right");
      assert.equal(c.denseLastLayer, true);
    } finally {
      await own.close();
    }
  });

  it('a bad file stops the engine from starting with a clear error, and nothing else breaks', async () => {
    await write(model.dir, '{"plas_decoder_top_k_left": -4}');
    const gpu = await testGpu();
    await assert.rejects(
      Engine.create(gpu, model, { cache: { memoryBytes: MB32 } }),
      (e: Error) =>
        e instanceof ModelPlasConfigError &&
        /plas_config\.json: plas_decoder_top_k_left \(-4\) must be an integer in \[1, 65536\]/.test(e.message),
    );
    await rm(join(model.dir, MODEL_PLAS_CONFIG_FILE));
    const engine = await Engine.create(gpu, model, { cache: { memoryBytes: MB32 } });
    assert.equal(engine.config.attention.plas.plas_block_size, 128, 'no file: the engine defaults');
    await engine.close();
  });
});
