/**
 * Every input is untrusted: a missing or malformed file, a broken template, a model without one. Each fails with a
 * named error that says which file (or template) and what is wrong, never with a crash inside the library.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatTemplateError, NoChatTemplateError, TokenizerLoadError } from '../../../engine/tokenizer/errors.ts';
import { type ChatMessage, Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import { REAL_TOKENIZERS } from './real-tokenizers.ts';
import { tinyTokenizerConfig, tinyTokenizerJson } from './tiny-tokenizer.ts';

const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];

/** Asserts `fn` throws a TokenizerLoadError for `file` whose message matches `pattern`. */
function assertLoadError(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TokenizerLoadError, `expected a TokenizerLoadError, got ${e}`);
    assert.equal(e.file, file);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    return true;
  });
}

describe('the tiny tokenizer the cases below break', () => {
  it('works when intact', () => {
    const t = Tokenizer.fromJson(tinyTokenizerJson(), tinyTokenizerConfig(), 'tiny');
    assert.deepEqual(t.encode('hi hi!<eos>'), [2, 3, 2, 4, 5]);
    assert.equal(t.decode([2, 3, 2, 4, 5], { skipSpecialTokens: true }), 'hi hi!');
    assert.deepEqual(t.eosTokenIds, [5]);
    assert.equal(t.vocabSize, 6);
  });
});

describe('malformed tokenizer.json', () => {
  // biome-ignore lint/suspicious/noExplicitAny: each case reaches into the JSON to break one field
  const cases: [string, (json: Record<string, any>) => unknown, RegExp][] = [
    ['not an object', () => null, /expected a JSON object, found null/],
    ['no model', (j) => ({ ...j, model: undefined }), /"model" must be an object, found nothing/],
    [
      'unknown model type',
      (j) => ({ ...j, model: { ...j.model, type: 'WordLevel' } }),
      /model\.type is the string "WordLevel"; supported: BPE, Unigram, WordPiece/,
    ],
    [
      'vocab as a list',
      (j) => ({ ...j, model: { ...j.model, vocab: ['h', 'i'] } }),
      /model\.vocab must be an object mapping each token to its id, found an array of 2/,
    ],
    [
      'a negative id',
      (j) => ({ ...j, model: { ...j.model, vocab: { h: -1 } } }),
      /model\.vocab\["h"\] must be an integer id in \[0, 16777216\), found the number -1/,
    ],
    [
      'an absurd id',
      (j) => ({ ...j, model: { ...j.model, vocab: { h: 1e12 } } }),
      /model\.vocab\["h"\] must be an integer id/,
    ],
    [
      'no merges',
      (j) => ({ ...j, model: { ...j.model, merges: undefined } }),
      /model\.merges must be an array, found nothing/,
    ],
    [
      'a merge that is not a pair',
      (j) => ({ ...j, model: { ...j.model, merges: ['h i', 5] } }),
      /model\.merges\[1\] must be a string "left right", like the first merge, found the number 5/,
    ],
    [
      'added tokens not a list',
      (j) => ({ ...j, added_tokens: {} }),
      /"added_tokens" must be an array, found an object/,
    ],
    [
      'an added token without an id',
      (j) => ({ ...j, added_tokens: [{ content: '<x>' }] }),
      /added_tokens\[0\]\.id must be an integer id/,
    ],
    [
      'an added token with empty content',
      (j) => ({ ...j, added_tokens: [{ id: 9, content: '' }] }),
      /added_tokens\[0\]\.content must be a non-empty string/,
    ],
    [
      'a stage that is a string',
      (j) => ({ ...j, decoder: 'Fuse' }),
      /"decoder" must be null or an object with a string "type", found the string "Fuse"/,
    ],
    [
      'an unknown decoder',
      (j) => ({ ...j, decoder: { type: 'Nope' } }),
      /the tokenizer library could not use it: Unknown Decoder type: Nope/,
    ],
    [
      'a broken pre-tokenizer regex',
      (j) => ({ ...j, pre_tokenizer: { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated', invert: false } }),
      /the tokenizer library could not use it: .*regular expression/i,
    ],
  ];
  for (const [what, mutate, pattern] of cases) {
    it(`${what}: names the file and the field`, () => {
      assertLoadError(
        () => Tokenizer.fromJson(mutate(tinyTokenizerJson()), tinyTokenizerConfig(), 'bad'),
        join('bad', 'tokenizer.json'),
        pattern,
      );
    });
  }

  it('fills in the optional parts a hand-written file may leave out', () => {
    const { normalizer, pre_tokenizer, post_processor, added_tokens, ...bare } = tinyTokenizerJson();
    const t = Tokenizer.fromJson(bare, {}, 'bare');
    assert.deepEqual(t.encode('hi!'), [2, 4]);
    assert.deepEqual(t.eosTokenIds, []);
  });
});

describe('malformed tokenizer_config.json', () => {
  const file = join('bad', 'tokenizer_config.json');
  const load = (config: unknown) => () => Tokenizer.fromJson(tinyTokenizerJson(), config, 'bad');
  it('not an object', () => assertLoadError(load([]), file, /expected a JSON object, found an array of 0/));
  it('an eos_token the vocabulary lacks', () =>
    assertLoadError(load({ eos_token: '</s>' }), file, /eos_token "<\/s>" is not in the vocabulary/));
  it('a bos_token of the wrong type', () =>
    assertLoadError(
      load({ bos_token: 1 }),
      file,
      /bos_token must be a string, an object with a string "content", or null; found the number 1/,
    ));
  it('a chat_template of the wrong type', () =>
    assertLoadError(
      load({ chat_template: 42 }),
      file,
      /chat_template must be a string or a list of \{name, template\}/,
    ));
  it('accepts tokens written as AddedToken objects', () => {
    const t = Tokenizer.fromJson(tinyTokenizerJson(), { eos_token: { __type: 'AddedToken', content: '<eos>' } }, 'ok');
    assert.deepEqual(t.eosTokenIds, [5]);
  });
});

describe('files on disk', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plas-tokenizer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const write = (name: string, value: unknown) =>
    writeFile(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));

  it('a missing folder names tokenizer.json', async () => {
    const missing = join(dir, 'nope');
    await assert.rejects(Tokenizer.fromFolder(missing), (e: unknown) => {
      assert.ok(e instanceof TokenizerLoadError);
      assert.equal(e.file, join(missing, 'tokenizer.json'));
      assert.match(e.message, /file not found \(a tokenizer folder needs tokenizer\.json and tokenizer_config\.json\)/);
      return true;
    });
  });

  it('a missing tokenizer_config.json is named', async () => {
    await write('tokenizer.json', tinyTokenizerJson());
    await assert.rejects(Tokenizer.fromFolder(dir), (e: unknown) => {
      assert.ok(e instanceof TokenizerLoadError);
      assert.equal(e.file, join(dir, 'tokenizer_config.json'));
      return true;
    });
  });

  it('a truncated tokenizer.json (a download cut short) is not valid JSON', async () => {
    const real = await readFile(join(REAL_TOKENIZERS.qwen3, 'tokenizer.json'), 'utf8');
    await write('tokenizer.json', real.slice(0, 5000));
    await write('tokenizer_config.json', tinyTokenizerConfig());
    await assert.rejects(Tokenizer.fromFolder(dir), (e: unknown) => {
      assert.ok(e instanceof TokenizerLoadError);
      assert.equal(e.file, join(dir, 'tokenizer.json'));
      assert.match(e.message, /not valid JSON/);
      return true;
    });
  });

  it('chat_template.jinja replaces the config template, and errors name it', async () => {
    await write('tokenizer.json', tinyTokenizerJson());
    await write('tokenizer_config.json', { ...tinyTokenizerConfig(), chat_template: 'from config' });
    await write('chat_template.jinja', '{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}');
    const t = await Tokenizer.fromFolder(dir);
    assert.equal(t.applyChatTemplate(HI), '[hi]<eos>');
    await write('chat_template.jinja', '{{ raise_exception("no") }}');
    const broken = await Tokenizer.fromFolder(dir);
    assert.throws(() => broken.applyChatTemplate(HI), { source: join(dir, 'chat_template.jinja') });
    await rm(join(dir, 'chat_template.jinja'));
  });

  it('chat_template.json is used when there is no chat_template.jinja', async () => {
    await write('tokenizer.json', tinyTokenizerJson());
    await write('tokenizer_config.json', tinyTokenizerConfig());
    await write('chat_template.json', { chat_template: '<{{ messages[0].content }}>' });
    assert.equal((await Tokenizer.fromFolder(dir)).applyChatTemplate(HI), '<hi>');
    await write('chat_template.json', { chat_template: 7 });
    await assert.rejects(Tokenizer.fromFolder(dir), (e: unknown) => {
      assert.ok(e instanceof TokenizerLoadError);
      assert.equal(e.file, join(dir, 'chat_template.json'));
      return true;
    });
    await rm(join(dir, 'chat_template.json'));
  });
});

describe('chat template errors', () => {
  const withTemplate = (chat_template: unknown) =>
    Tokenizer.fromJson(tinyTokenizerJson(), { ...tinyTokenizerConfig(), chat_template }, 'model');
  const source = `${join('model', 'tokenizer_config.json')} (chat_template)`;

  it('a syntax error: the model still loads and encodes; the chat fails naming the template', () => {
    const t = withTemplate('{% for m in messages %}{{ m.content }');
    assert.deepEqual(t.encode('hi'), [2]);
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => t.applyChatTemplate(HI),
        (e: unknown) => {
          assert.ok(e instanceof ChatTemplateError);
          assert.equal(e.source, source);
          assert.match(
            e.message,
            /^chat template from model\/tokenizer_config\.json \(chat_template\): syntax error: /,
          );
          return true;
        },
      );
    }
  });

  it("the template's raise_exception", () => {
    const t = withTemplate(
      "{% if messages[0].role != 'system' %}{{ raise_exception('Conversations must start with a system message') }}{% endif %}",
    );
    assert.throws(() => t.applyChatTemplate(HI), {
      name: 'ChatTemplateError',
      message: `chat template from ${source}: the template raised: Conversations must start with a system message`,
    });
  });

  it('an error while rendering (an unknown filter)', () => {
    assert.throws(() => withTemplate('{{ messages | no_such_filter }}').applyChatTemplate(HI), {
      name: 'ChatTemplateError',
      message: new RegExp(`^chat template from ${source.replace(/[().]/g, '\\$&')}: error while rendering: `),
    });
  });

  it('a range() big enough to exhaust memory', () => {
    assert.throws(() => withTemplate('{% for i in range(10**9) %}{% endfor %}').applyChatTemplate(HI), {
      name: 'ChatTemplateError',
      message: /range\(\) of 1000000000 numbers is more than 1000000/,
    });
  });

  it('named templates: "tool_use" when there are tools, else "default"; none named default is an error', () => {
    const t = withTemplate([
      { name: 'default', template: 'plain' },
      { name: 'tool_use', template: 'tools: {{ tools | length }}' },
    ]);
    assert.equal(t.applyChatTemplate(HI), 'plain');
    assert.equal(t.applyChatTemplate(HI, { tools: [{ name: 'f' }] }), 'tools: 1');
    assert.equal(t.chatTemplate, 'plain');
    const noDefault = withTemplate([{ name: 'tool_use', template: 'x' }]);
    assert.throws(() => noDefault.applyChatTemplate(HI), /chat templates named "tool_use" but none named "default"/);
  });
});

describe('a model without a chat template', () => {
  it('loads, encodes, and refuses chat with NoChatTemplateError', async () => {
    // The Mistral 7B v0.1 base config has no chat_template.
    const t = await Tokenizer.fromFolder(REAL_TOKENIZERS.mistral);
    assert.equal(t.chatTemplate, undefined);
    assert.throws(
      () => t.applyChatTemplate(HI),
      (e: unknown) => {
        assert.ok(e instanceof NoChatTemplateError);
        assert.ok(e instanceof ChatTemplateError, 'callers catching ChatTemplateError see it too');
        assert.match(e.message, /this model has no chat template/);
        assert.ok(e.message.startsWith(REAL_TOKENIZERS.mistral), e.message);
        return true;
      },
    );
  });
});
