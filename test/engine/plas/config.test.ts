import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultPlasConfig,
  isDenseBelowLimit,
  mergePlasConfig,
  PlasConfigError,
  parsePlasConfig,
} from '../../../engine/plas/config.ts';

describe('PLAS config', () => {
  it('takes the original defaults; limits follow left x block size', () => {
    const c = parsePlasConfig(undefined, 64);
    assert.deepEqual(c, defaultPlasConfig());
    assert.equal(c.plas_use_encoder_seq_limit, 50 * 128);
    assert.equal(c.plas_use_decoder_seq_limit, 100 * 128);
    const d = parsePlasConfig('{"plas_encoder_top_k_left": 20, "plas_block_size": 64}', 16);
    assert.equal(d.plas_use_encoder_seq_limit, 20 * 64);
    assert.equal(d.plas_use_decoder_seq_limit, 100 * 64);
    assert.equal(parsePlasConfig({ plas_use_decoder_seq_limit: 7 }, 64).plas_use_decoder_seq_limit, 7);
    assert.equal(c.topkSearch, 'refined', 'the top-k search that lands in range (shaders/plas_select_topk.wgsl)');
    assert.equal(parsePlasConfig({ topkSearch: 'original' }, 64).topkSearch, 'original', "the original's rule");
    assert.deepEqual([c.encoderBlockScore, c.decoderBlockScore], ['gate', 'gate'], "the original's block scores");
    assert.equal(parsePlasConfig({ decoderBlockScore: 'bound' }, 64).decoderBlockScore, 'bound');
  });

  it('errors name the key and print the values', () => {
    const bad: [unknown, number, RegExp][] = [
      [
        '{"plas_encoder_top_k_left": 70}',
        64,
        /^plas_encoder_top_k_left \(70\) must be <= plas_encoder_top_k_right \(60\)$/,
      ],
      ['{"plas_decoder_top_k_right": 0}', 64, /plas_decoder_top_k_right \(0\) must be an integer in \[1, 65536\]/],
      ['{"plas_block_size": 96}', 32, /plas_block_size \(96\) must be a power of two in \[16, 256\]/],
      ['{"plas_block_size": 512}', 64, /plas_block_size \(512\) must be a power of two in \[16, 256\]/],
      ['{"plas_block_size": 32}', 64, /plas_block_size \(32\) must be a multiple of the KV page size \(64\)/],
      ['{"iterations": 0}', 64, /iterations \(0\) must be an integer in \[1, 32\]/],
      ['{"denseLastLayer": "yes"}', 64, /denseLastLayer \("yes"\) must be true or false/],
      ['{"topkSearch": "exact"}', 64, /topkSearch \("exact"\) must be refined or original/],
      ['{"decoderBlockScore": "max"}', 64, /decoderBlockScore \("max"\) must be one of gate, bound, bound-gate/],
      ['{"encoderBlockScore": null}', 64, /encoderBlockScore \(null\) must be one of gate, bound, bound-gate/],
      ['{"plas_use_encoder_seq_limit": -1}', 64, /plas_use_encoder_seq_limit \(-1\) must be an integer/],
      ['{"plas_encoder_top_k_left": 2.5}', 64, /plas_encoder_top_k_left \(2.5\) must be an integer/],
      ['{"top_k": 3}', 64, /unknown PLAS config key "top_k" \(known: plas_encoder_top_k_left, /],
      ['{not json', 64, /the PLAS config is not valid JSON/],
      ['[1]', 64, /must be a JSON object, got \[1\]/],
    ];
    for (const [json, pageSize, message] of bad) {
      assert.throws(
        () => parsePlasConfig(json as string, pageSize),
        (e: Error) => e instanceof PlasConfigError && message.test(e.message),
        String(json),
      );
    }
  });

  it('live updates are validated as a whole; the block size is fixed; default limits follow a new left', () => {
    const c = parsePlasConfig({ plas_use_encoder_seq_limit: 1000 }, 64);
    const next = mergePlasConfig(
      c,
      { plas_encoder_top_k_left: 10, plas_encoder_top_k_right: 20, plas_decoder_top_k_left: 30 },
      64,
    );
    assert.equal(next.plas_use_encoder_seq_limit, 1000, 'an explicit limit stays');
    assert.equal(next.plas_use_decoder_seq_limit, 30 * 128, 'a default limit follows left');
    assert.equal(c.plas_encoder_top_k_left, 50, 'the current config is not mutated');
    assert.throws(
      () => mergePlasConfig(c, { plas_encoder_top_k_left: 61 }, 64),
      /plas_encoder_top_k_left \(61\) must be <= plas_encoder_top_k_right \(60\)/,
    );
    assert.throws(
      () => mergePlasConfig(c, { plas_block_size: 64 }, 64),
      /plas_block_size is fixed when a model loads \(current 128, got 64\)/,
    );
    assert.equal(mergePlasConfig(c, { plas_block_size: 128, iterations: 9 }, 64).iterations, 9);
  });

  it('one rule for dense: fewer visible tokens than the limit', () => {
    assert.equal(isDenseBelowLimit(6399, 6400), true);
    assert.equal(isDenseBelowLimit(6400, 6400), false);
    assert.equal(isDenseBelowLimit(1, 0), false);
  });
});
