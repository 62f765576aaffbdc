/**
 * The default model's tokenizer and chat format, as tools/train makes them: a byte-level BPE trained by Hugging
 * Face's `tokenizers` that the engine's tokenizer (@huggingface/tokenizers) reads and encodes exactly as the Rust
 * library does; digits one per token; and the chat template the engine renders equal, byte for byte, to the text
 * the model was trained on.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SamplingRng } from '../../../engine/generation/rng.ts';
import { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { CHAT_TEMPLATE, chatExample, renderChat, type Turn } from '../../../tools/train/chat.ts';
import { SPECIAL_TOKENS, trainTokenizer } from '../../../tools/train/tokenizer.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const VOCAB = 1024;
let dir: string;
let tokenizer: Tokenizer;
let merges: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-tok-'));
  merges = trainTokenizer([join(root, 'resources', 'text', 'gate-text.txt')], join(dir, 'tokenizer.json'), VOCAB);
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ eos_token: '<|im_end|>', bos_token: null, chat_template: CHAT_TEMPLATE }),
  );
  tokenizer = await Tokenizer.fromFolder(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

const SAMPLES = [
  'And God said, Let there be light: and there was light.',
  'The pass key is 68231. Remember it. 68231 is the pass key.',
  '  two  spaces,\ttabs\nand newlines\n\n',
  'Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. 日本語 😀',
  '<|im_start|>user\nWhat is 12 + 7?<|im_end|>\n',
];

describe('the default model tokenizer', () => {
  it('has the asked size: 256 bytes, the merges, the special tokens on top', () => {
    assert.equal(merges, VOCAB - 256 - SPECIAL_TOKENS.length);
    assert.equal(tokenizer.vocabSize, VOCAB);
    for (const [i, t] of SPECIAL_TOKENS.entries())
      assert.equal(tokenizer.tokenToId(t), VOCAB - SPECIAL_TOKENS.length + i);
  });

  it('splits digits one per token', () => {
    const ids = tokenizer.encode(' 68231', { addSpecialTokens: false });
    const tokens = ids.map((id) => tokenizer.idToToken(id));
    assert.deepEqual(tokens.slice(-5), ['6', '8', '2', '3', '1']);
  });

  it('round-trips any text, characters it never saw included', () => {
    for (const s of SAMPLES) assert.equal(tokenizer.decode(tokenizer.encode(s, { addSpecialTokens: false })), s);
  });

  it('encodes exactly as the Rust tokenizers library does', async () => {
    const rust = createRequire(import.meta.url)('tokenizers').Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    for (const s of SAMPLES) {
      const expected = (await rust.encode(s, null, { addSpecialTokens: false })).getIds();
      assert.deepEqual(tokenizer.encode(s, { addSpecialTokens: false }), expected, JSON.stringify(s));
    }
  });
});

describe('the default model chat format', () => {
  it('the engine renders the template exactly as the training text was written', () => {
    const conversations: Turn[][] = [
      [{ role: 'user', content: 'Who are you?' }],
      [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: 'Define lantern.' },
        { role: 'assistant', content: 'lantern (noun): light in a transparent protective case.' },
        { role: 'user', content: 'What is 3 + 4?' },
      ],
    ];
    for (const turns of conversations) {
      assert.equal(tokenizer.applyChatTemplate(turns), renderChat(turns));
      assert.equal(
        tokenizer.applyChatTemplate(turns, { addGenerationPrompt: true }),
        `${renderChat(turns)}<|im_start|>assistant\n`,
      );
    }
  });

  it('training exchanges are well-formed ChatML', () => {
    const rng = new SamplingRng(4);
    const sources = {
      glosses: [{ pos: 'noun' as const, words: ['lantern', 'lamp'], definition: 'light in a case', examples: [] }],
      fortunes: ['A fortune.'],
      sentences: ['Repeat this sentence.'],
    };
    for (let i = 0; i < 50; i++) {
      const text = chatExample(rng, sources);
      assert.match(text, /^(<\|im_start\|>(system|user|assistant)\n[\s\S]*?<\|im_end\|>\n)+$/);
      assert.ok(text.includes('<|im_start|>assistant\n'));
    }
  });
});
