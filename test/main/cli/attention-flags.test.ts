import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attentionBackend, attentionInput } from '../../../main/cli/commands/attention-flags.ts';

describe('attention flags', () => {
  it('select the backend from the flag, else FD_ATTENTION_BACKEND (read by the CLI, never the engine)', () => {
    assert.equal(attentionBackend('plas', {}), 'plas');
    assert.equal(attentionBackend('DENSE', { FD_ATTENTION_BACKEND: 'PLAS_ATTN' }), 'dense');
    assert.equal(attentionBackend(undefined, { FD_ATTENTION_BACKEND: 'PLAS_ATTN' }), 'plas');
    assert.equal(attentionBackend(undefined, { FD_ATTENTION_BACKEND: 'FLASH_ATTN' }), 'dense');
    assert.equal(attentionBackend(undefined, {}), 'dense');
    assert.throws(() => attentionBackend('sparse', {}), /--attention-backend \("sparse"\) must be plas or dense/);
  });

  it('parse --plas-attention-config as a JSON object, naming the flag when it is not', () => {
    assert.deepEqual(attentionInput({ attentionBackend: 'plas', plasAttentionConfig: '{"iterations": 9}' }), {
      backend: 'plas',
      plas: { iterations: 9 },
    });
    assert.throws(() => attentionInput({ plasAttentionConfig: '{nope' }), /--plas-attention-config is not valid JSON/);
    assert.throws(
      () => attentionInput({ plasAttentionConfig: '[1]' }),
      /--plas-attention-config must be a JSON object/,
    );
  });
});
