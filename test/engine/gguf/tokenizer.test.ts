/**
 * The tokenizer built from a GGUF file's tokenizer.ggml.* metadata gives the same ids as the model's tokenizer.json,
 * on the real Qwen3 and Llama 3 vocabularies (byte-level BPE, "gpt2") and Mistral's (SentencePiece BPE with byte
 * fallback, "llama": merges derived from scores), written into GGUF the way llama.cpp's converter writes them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openGguf } from '../../../engine/gguf/reader.ts';
import { type GgufValue, gguf } from '../../../engine/gguf/values.ts';
import { writeGguf } from '../../../engine/gguf/writer.ts';
import { vocabTypeOfDecoder } from '../../../engine/grammar/tokenizer-vocab.ts';
import { TokenizerLoadError } from '../../../engine/tokenizer/errors.ts';
import { tokenizerFromGguf } from '../../../engine/tokenizer/gguf-tokenizer.ts';
import type { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { tokenizerMetadata } from '../../fixtures/gguf-fixture.ts';
import { TOKENIZERS } from '../../fixtures/tiny-model.ts';
import { loadReal, REAL_TOKENIZERS, type RealTokenizerName } from '../tokenizer/real-tokenizers.ts';
import { UNICODE_SAMPLES } from '../tokenizer/unicode-samples.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plas-gguf-tok-'));
});
after(() => rm(root, { recursive: true, force: true }));

const TEXTS = [
  ...Object.values(UNICODE_SAMPLES),
  'def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\n\tprint(f"{fib(30)=}")  # 832040',
  'const x = {"a": [1, 2.5, -3e10], b: null}; // JSON-ish\r\n<div class="x">&amp;</div>',
  'Numbers: 0 7 42 123 1234 12345 123456789 3.14159 -0.001 1,000,000 ١٢٣ ½ ⅔',
  "It's we'll they've I'M you'D SHOULDN'T  don't",
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<think>\nx\n</think><|im_end|>',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><s> </s> [INST] x [/INST]',
  '   spaces   and\u00a0nbsp\u2003em\u200bzero-width   ',
  'A'.repeat(200),
  '',
];

const gguFiles = new Map<RealTokenizerName, Promise<Tokenizer>>();

/** The real tokenizer written as GGUF metadata (no tensors) and read back. */
function fromGguf(name: RealTokenizerName): Promise<Tokenizer> {
  let t = gguFiles.get(name);
  if (!t) {
    t = (async () => {
      const vocabSize = name === 'mistral' ? undefined : TOKENIZERS[name].vocabSize;
      const meta = await tokenizerMetadata(REAL_TOKENIZERS[name], { vocabSize });
      const path = join(root, `${name}.gguf`);
      await writeGguf(path, { metadata: [['general.architecture', gguf.string('llama')], ...meta], tensors: [] });
      return tokenizerFromGguf(await openGguf(path));
    })();
    gguFiles.set(name, t);
  }
  return t;
}

for (const name of ['qwen3', 'llama3', 'mistral'] as const) {
  describe(`${name}: GGUF tokenizer vs tokenizer.json`, () => {
    it('the same ids on varied text, with and without special tokens added', async () => {
      const [hf, g] = await Promise.all([loadReal(name), fromGguf(name)]);
      for (const text of TEXTS) {
        for (const addSpecialTokens of [true, false]) {
          assert.deepEqual(
            g.encode(text, { addSpecialTokens }),
            hf.encode(text, { addSpecialTokens }),
            JSON.stringify(text),
          );
        }
      }
    });

    it('the same text back, the same special tokens and vocabulary size', async () => {
      const [hf, g] = await Promise.all([loadReal(name), fromGguf(name)]);
      assert.equal(g.vocabSize, hf.vocabSize);
      assert.equal(
        vocabTypeOfDecoder(g.decoder),
        vocabTypeOfDecoder(hf.decoder),
        'the same byte spelling for grammars',
      );
      assert.deepEqual(g.eosTokenIds, hf.eosTokenIds);
      for (const text of TEXTS) {
        const ids = hf.encode(text);
        assert.equal(g.decode(ids), hf.decode(ids), JSON.stringify(text));
        assert.equal(g.decode(ids, { skipSpecialTokens: true }), hf.decode(ids, { skipSpecialTokens: true }));
      }
      for (let id = 0; id < hf.vocabSize; id += 997) assert.equal(g.idToToken(id), hf.idToToken(id), `token ${id}`);
      for (const token of ['<|im_end|>', '<|eot_id|>', '</s>', '<unk>']) {
        const id = hf.tokenToId(token);
        if (id !== undefined) {
          assert.equal(g.tokenToId(token), id, token);
          assert.equal(g.isSpecial(id), hf.isSpecial(id), `${token} special`);
        }
      }
    });
  });
}

it('the chat template comes from tokenizer.chat_template and renders as the original', async () => {
  for (const name of ['qwen3', 'llama3'] as const) {
    const [hf, g] = await Promise.all([loadReal(name), fromGguf(name)]);
    assert.ok(g.chatTemplate && g.chatTemplate === hf.chatTemplate, `${name} has the same template text`);
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hi 😀' },
    ];
    const extra = { strftime_now: () => '05 Dec 2026' };
    assert.equal(
      g.applyChatTemplate(messages, { addGenerationPrompt: true, extra }),
      hf.applyChatTemplate(messages, { addGenerationPrompt: true, extra }),
    );
  }
});

describe('GGUF tokenizer metadata errors', () => {
  async function tokenizerError(meta: [string, GgufValue][], pattern: RegExp): Promise<void> {
    const path = join(root, `bad-${Math.random().toString(36).slice(2)}.gguf`);
    await writeGguf(path, { metadata: meta, tensors: [] });
    const file = await openGguf(path);
    assert.throws(
      () => tokenizerFromGguf(file),
      (e: Error) => e instanceof TokenizerLoadError && e.message.startsWith(path) && pattern.test(e.message),
    );
  }
  const tokens: [string, GgufValue] = ['tokenizer.ggml.tokens', gguf.strings(['a', 'b', 'ab'])];
  const merges: [string, GgufValue] = ['tokenizer.ggml.merges', gguf.strings(['a b'])];

  it('names what is missing or unsupported', async () => {
    await tokenizerError([], /has no tokenizer \(no tokenizer\.ggml\.model/);
    await tokenizerError(
      [['tokenizer.ggml.model', gguf.string('bert')], tokens],
      /tokenizer\.ggml\.model "bert" is not supported \(supported: gpt2, llama\)/,
    );
    await tokenizerError([['tokenizer.ggml.model', gguf.string('gpt2')]], /has no tokenizer\.ggml\.tokens/);
    await tokenizerError(
      [['tokenizer.ggml.model', gguf.string('gpt2')], ['tokenizer.ggml.pre', gguf.string('jais')], tokens, merges],
      /tokenizer\.ggml\.pre "jais" is a pre-tokenizer this engine does not know \(known: llama-bpe/,
    );
    await tokenizerError(
      [['tokenizer.ggml.model', gguf.string('gpt2')], ['tokenizer.ggml.pre', gguf.string('qwen2')], tokens],
      /needs tokenizer\.ggml\.merges/,
    );
    await tokenizerError(
      [
        ['tokenizer.ggml.model', gguf.string('gpt2')],
        tokens,
        merges,
        ['tokenizer.ggml.token_type', gguf.array('i32', new Int32Array([1]))],
      ],
      /token_type has 1 entries for 3 tokens/,
    );
    await tokenizerError(
      [['tokenizer.ggml.model', gguf.string('gpt2')], tokens, merges, ['tokenizer.ggml.eos_token_id', gguf.u32(9)]],
      /tokenizer\.ggml\.eos_token_id 9 is not a token id \(3 tokens\)/,
    );
  });

  it('a minimal gpt2 vocabulary works', async () => {
    const path = join(root, 'minimal.gguf');
    await writeGguf(path, {
      metadata: [
        ['tokenizer.ggml.model', gguf.string('gpt2')],
        tokens,
        merges,
        ['tokenizer.ggml.pre', gguf.string('gpt-2')],
      ],
      tensors: [],
    });
    const t = tokenizerFromGguf(await openGguf(path));
    assert.deepEqual(t.encode('abab'), [2, 2]);
    assert.equal(t.decode([2, 0]), 'aba');
  });
});
