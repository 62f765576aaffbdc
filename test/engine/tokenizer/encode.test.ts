/**
 * Exact ids on real tokenizers. Expected values were produced once by HF's Rust `tokenizers` crate (0.23) from the
 * same tokenizer.json files, and checked by reason: the token strings are in the comments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadReal } from './real-tokenizers.ts';

describe('Qwen3 (byte-level BPE)', () => {
  it('encodes plain text, Unicode and whitespace runs to the ids of the Rust tokenizers crate', async () => {
    const t = await loadReal('qwen3');
    assert.deepEqual(t.encode('Hello world'), [9707, 1879]); // Hello, Ġworld
    // æĹ¥æľ¬ (日本), èªŀ (語), ĠðŁĺĢ ( 😀), ĠnaÃ¯ ( naï), ve, ĠcafÃ© ( café)
    assert.deepEqual(t.encode('日本語 😀 naïve café'), [101059, 102819, 90316, 94880, 586, 51950]);
    // Ġ, Ġtwo, Ġ, Ġspaces, ĊĊ, x: a run of spaces leaves one space for the next word
    assert.deepEqual(t.encode('  two  spaces\n\nx'), [220, 1378, 220, 12621, 271, 87]);
  });

  it('recognises special tokens written in the text', async () => {
    const t = await loadReal('qwen3');
    const text = '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n';
    // <|im_start|>, user, Ċ, Hi, Ġthere, <|im_end|>, Ċ, <|im_start|>, assistant, Ċ
    const ids = [151644, 872, 198, 13048, 1052, 151645, 198, 151644, 77091, 198];
    assert.deepEqual(t.encode(text), ids);
    assert.deepEqual(t.encode(text, { addSpecialTokens: false }), ids); // Qwen adds no BOS
    assert.equal(t.decode(ids), text);
    assert.equal(t.decode(ids, { skipSpecialTokens: true }), 'user\nHi there\nassistant\n');
  });

  it('reports vocabulary size, special tokens and eos from its config', async () => {
    const t = await loadReal('qwen3');
    assert.equal(t.vocabSize, 151669); // 151643 BPE tokens + 26 added tokens
    assert.equal(t.bosTokenId, undefined); // bos_token is null in Qwen's config
    assert.deepEqual(t.eosTokenIds, [151645]); // <|im_end|>
    assert.equal(t.tokenToId('<|im_start|>'), 151644);
    assert.equal(t.idToToken(151645), '<|im_end|>');
    assert.equal(t.idToToken(9707), 'Hello');
    assert.equal(t.tokenToId('no such token'), undefined);
    assert.equal(t.idToToken(151669), undefined);
    assert.equal(t.isSpecial(151645), true);
    assert.equal(t.isSpecial(151667), false); // <think> is an added token but not a special one
    assert.equal(t.isSpecial(9707), false);
  });
});

describe('Llama 3 (byte-level BPE)', () => {
  it('encodes text, number groups and contractions to the ids of the Rust tokenizers crate', async () => {
    const t = await loadReal('llama3');
    assert.deepEqual(t.encode('Hello world'), [9906, 1917]); // Hello, Ġworld
    // Numbers split into groups of up to three digits: 123 456 789 012 345 678 90
    assert.deepEqual(t.encode('12345678901234567890'), [4513, 10961, 16474, 11531, 12901, 17458, 1954]);
    // I, ', LL, ĠDON, 'T, Ġwe, 've: contractions split off case-insensitively ('LL has no merge, so two tokens)
    assert.deepEqual(t.encode("I'LL DON'T we've"), [40, 6, 4178, 45373, 17773, 584, 3077]);
  });

  it('recognises special tokens written in the text', async () => {
    const t = await loadReal('llama3');
    const text = '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>';
    // <|begin_of_text|>, <|start_header_id|>, user, <|end_header_id|>, ĊĊ, Hi, <|eot_id|>
    const ids = [128000, 128006, 882, 128007, 271, 13347, 128009];
    assert.deepEqual(t.encode(text), ids);
    assert.equal(t.decode(ids), text);
    assert.equal(t.decode(ids, { skipSpecialTokens: true }), 'user\n\nHi');
  });

  it('reports vocabulary size and special tokens from its config', async () => {
    const t = await loadReal('llama3');
    assert.equal(t.vocabSize, 128256); // 128000 BPE tokens + 256 reserved/special
    assert.equal(t.bosTokenId, 128000);
    assert.deepEqual(t.eosTokenIds, [128001]); // <|end_of_text|>; generation_config adds <|eot_id|>
    assert.equal(t.isSpecial(128009), true);
  });

  it('decodes without transformers clean-up, which would turn " ," into ","', async () => {
    // Llama 3's config sets clean_up_tokenization_spaces; applying it would break round trips and streaming.
    const t = await loadReal('llama3');
    assert.equal(t.decode(t.encode("a , b . c 's")), "a , b . c 's");
  });
});

describe('Mistral 7B (SentencePiece-style BPE with byte fallback)', () => {
  it('adds <s> by default and not when asked, and prepends the word-boundary mark ▁', async () => {
    const t = await loadReal('mistral');
    assert.deepEqual(t.encode('Hello world'), [1, 22557, 1526]); // <s>, ▁Hello, ▁world
    assert.deepEqual(t.encode('Hello world', { addSpecialTokens: false }), [22557, 1526]);
    assert.equal(t.decode([1, 22557, 1526], { skipSpecialTokens: true }), 'Hello world');
    assert.equal(t.decode([1, 22557, 1526]), '<s> Hello world');
  });

  it('falls back to byte tokens for characters outside the vocabulary', async () => {
    const t = await loadReal('mistral');
    // <s>, ▁I, ▁, <0xF0>, <0x9F>, <0xA6>, <0x99> (🦙 as four byte tokens; <0xNN> has id NN + 3), ▁you
    const ids = [1, 315, 28705, 243, 162, 169, 156, 368];
    assert.deepEqual(t.encode('I 🦙 you'), ids);
    assert.equal(t.idToToken(243), '<0xF0>');
    assert.equal(t.decode(ids, { skipSpecialTokens: true }), 'I 🦙 you');
    // 😀 is in the vocabulary whole: <s>, ▁, 😀, ▁é
    assert.deepEqual(t.encode('😀 é'), [1, 28705, 30575, 1233]);
    // ▁▁, ▁two, ▁, ▁spaces, <0x0A>, <0x0A>, x
    assert.deepEqual(
      t.encode('  two  spaces\n\nx', { addSpecialTokens: false }),
      [259, 989, 28705, 10599, 13, 13, 28744],
    );
  });

  it('recognises special tokens written in the text', async () => {
    const t = await loadReal('mistral');
    // <s> (added), <s> (written), ▁[, INST, ], ▁Hi, ▁[, /, INST, ], </s>
    assert.deepEqual(
      t.encode('<s>[INST] Hi [/INST]</s>'),
      [1, 1, 733, 16289, 28793, 15359, 733, 28748, 16289, 28793, 2],
    );
    assert.equal(t.vocabSize, 32000);
    assert.equal(t.bosTokenId, 1);
    assert.deepEqual(t.eosTokenIds, [2]);
  });
});

describe('decode edge cases', () => {
  it('decodes an empty list to "" and drops ids that have no token', async () => {
    const t = await loadReal('qwen3');
    assert.equal(t.decode([]), '');
    // Qwen3's embedding has 151936 rows but its vocabulary 151669 ids: a sampled padding id decodes to nothing.
    assert.equal(t.decode([9707, 151700, -1, 1.5, 1879]), 'Hello world');
    assert.equal(t.decode([151645], { skipSpecialTokens: true }), '');
  });
});
