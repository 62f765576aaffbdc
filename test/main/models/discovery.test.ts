/**
 * Discovery on fake trees in each layout (Hugging Face cache, LM Studio old and new, Ollama, an added folder): what
 * is found, its format, architecture, quantization, size and whether the engine runs it (and why not); links out of
 * a tree and an Ollama digest that is a path are never followed; the roots follow the tools' environment variables.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { discoverModels } from '../../../main/models/discovery/discover.ts';
import { discoveryRoots, huggingfaceCache } from '../../../main/models/discovery/roots.ts';
import type { DiscoveredModel } from '../../../main/models/discovery/types.ts';
import { type FakeHome, makeFakeHome, REV } from './fake-trees.ts';

let fake: FakeHome;
let found: DiscoveredModel[];
const byName = (name: string) => {
  const m = found.find((x) => x.name === name);
  assert.ok(m, `${name} was not found among ${found.map((x) => x.name).join(', ')}`);
  return m;
};

before(async () => {
  fake = await makeFakeHome(await mkdtemp(join(tmpdir(), 'plas-discover-')));
  found = await discoverModels(discoveryRoots([fake.folder], {}, fake.home));
});
after(() => rm(fake.home, { recursive: true, force: true }));

test('the roots follow HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME and OLLAMA_MODELS, else the home folder', () => {
  assert.equal(huggingfaceCache({}, '/h'), '/h/.cache/huggingface/hub');
  assert.equal(huggingfaceCache({ XDG_CACHE_HOME: '/x' }, '/h'), '/x/huggingface/hub');
  assert.equal(huggingfaceCache({ HF_HOME: '/hf' }, '/h'), '/hf/hub');
  assert.equal(huggingfaceCache({ HF_HOME: '/hf', HF_HUB_CACHE: '/c' }, '/h'), '/c');
  const roots = discoveryRoots(['/mine'], { OLLAMA_MODELS: '/o' }, '/h');
  assert.deepEqual(roots, {
    huggingface: ['/h/.cache/huggingface/hub'],
    lmstudio: ['/h/.lmstudio/models', '/h/.cache/lm-studio/models'],
    ollama: ['/o'],
    folders: ['/mine'],
  });
});

test('the Hugging Face cache: a safetensors snapshot and each GGUF file, runnable or not', async () => {
  const tiny = byName('acme/tiny-llama');
  assert.equal(tiny.source, 'huggingface');
  assert.equal(tiny.format, 'safetensors');
  assert.equal(tiny.path, join(fake.hfCache, 'models--acme--tiny-llama', 'snapshots', REV));
  assert.equal(tiny.architecture, 'LlamaForCausalLM');
  assert.equal(tiny.quantization, 'f16');
  assert.equal(tiny.runnable, true, tiny.problems.join('; '));
  const weights = await stat(join(tiny.path, 'model.safetensors'));
  assert.ok(tiny.sizeBytes > weights.size, 'the size counts the blobs behind the links');

  const q4 = byName(`acme/tiny-GGUF/tiny-Q4_K_M.gguf`);
  assert.deepEqual(
    { format: q4.format, architecture: q4.architecture, quantization: q4.quantization, ctx: q4.contextLength },
    { format: 'gguf', architecture: 'llama', quantization: 'Q4_K_M', ctx: 4096 },
  );
  assert.equal(q4.runnable, true, q4.problems.join('; '));
  assert.equal(q4.sizeBytes, (await stat(q4.path)).size);

  const q2 = byName('acme/tiny-GGUF/tiny-Q2_K.gguf');
  assert.equal(q2.quantization, 'Q2_K');
  assert.equal(q2.runnable, false);
  assert.match(
    q2.problems.join(),
    /quant type q2_k not supported \(the engine runs f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k\)/,
  );
});

test('a link out of the tree is listed as such and never followed (the GGUF behind it is not read)', () => {
  for (const name of ['evil/escape/escape.gguf', 'lmstudio-community/Tiny-GGUF/linked-out.gguf']) {
    const m = byName(name);
    assert.equal(m.runnable, false);
    assert.equal(m.architecture, null, `${name}: the file behind the link was read`);
    assert.equal(m.sizeBytes, 0);
    assert.match(m.problems[0], /a link that leads outside the folder it was found in.*not followed/);
  }
  assert.ok(!found.some((m) => m.path.startsWith(join(fake.home, 'outside'))), 'nothing reports the outside path');
  assert.ok(!found.some((m) => m.name.includes('secret')), 'a linked folder in an added folder is not walked');
});

test("LM Studio's folders, new and old: GGUF files by publisher and model; projectors skipped; why not runnable", () => {
  const tiny = byName('lmstudio-community/Tiny-GGUF/Tiny-Q4_K_M.gguf');
  assert.equal(tiny.source, 'lmstudio');
  assert.equal(tiny.runnable, true, tiny.problems.join('; '));
  assert.ok(!found.some((m) => m.name.includes('mmproj')), 'vision projectors are not models');
  const gpt2 = byName('lmstudio-community/Tiny-GGUF/gpt2-F16.gguf');
  assert.equal(gpt2.quantization, 'F16');
  assert.deepEqual(gpt2.problems, [
    'unsupported architecture gpt2 (the engine runs llama, mistral, qwen2, qwen3, ernie4_5)',
  ]);
  const old = byName('old-pub/Qwen-GGUF/qwen-Q8_0.gguf');
  assert.equal(old.architecture, 'qwen3');
  assert.equal(old.quantization, 'Q8_0');
  assert.deepEqual(old.problems, ['missing tokenizer (no tokenizer.ggml.model in the file)']);
});

test('Ollama: manifests resolve to blobs by a checked digest; a digest that is a path, or a blob link out, is refused', () => {
  const tiny = byName('tiny:q4');
  assert.equal(tiny.source, 'ollama');
  assert.equal(tiny.format, 'gguf');
  assert.match(tiny.path, /\/\.ollama\/models\/blobs\/sha256-[0-9a-f]{64}$/);
  assert.equal(tiny.quantization, 'Q4_K_M');
  assert.equal(tiny.runnable, true, tiny.problems.join('; '));
  const sneaky = byName('sneaky:latest');
  assert.equal(sneaky.runnable, false);
  assert.equal(sneaky.architecture, null);
  assert.match(
    sneaky.problems[0],
    /names the model by "sha256:\.\.\/\.\.\/\.\.\/outside\/secret\.gguf", not a sha256 digest/,
  );
  const linked = byName('someone/linked:v1');
  assert.equal(linked.architecture, null);
  assert.match(
    linked.problems[0],
    /its model blob sha256-b{12}… is missing from Ollama's blobs \(or links outside them\)/,
  );
});

test('an added folder: model folders and GGUF files further down, with what is missing', async () => {
  const noTok = byName('no-tokenizer');
  assert.equal(noTok.source, 'folder');
  assert.equal(noTok.architecture, 'Qwen3ForCausalLM');
  assert.equal(noTok.quantization, 'bf16');
  assert.deepEqual(noTok.problems, ['missing tokenizer (no tokenizer.json)']);
  const gpt2 = byName('gpt2');
  assert.equal(gpt2.architecture, 'GPT2LMHeadModel');
  assert.match(gpt2.problems.join(), /unsupported architecture GPT2LMHeadModel/);
  assert.equal(byName('deep/er/deep-Q4_K_M.gguf').runnable, true);
  // Its header looks runnable (a Llama, Q4_K/Q6_K, a tokenizer); the loader's verdict says what is missing.
  const incomplete = byName('incomplete-Q4_K_M.gguf');
  assert.equal(incomplete.architecture, 'llama');
  assert.equal(incomplete.quantization, 'Q4_K_M');
  assert.equal(incomplete.runnable, false);
  assert.deepEqual(incomplete.problems, ['missing tensor blk.0.ffn_down.weight (expected shape [256, 1024])']);
  // A split model is listed once, by its first part, with the size of all its parts; its other parts are not listed.
  const split = byName('split/tiny-Q4_K_M-00001-of-00003.gguf');
  assert.equal(split.runnable, true, split.problems.join('; '));
  const sizes = await Promise.all(
    [1, 2, 3].map((i) => stat(join(fake.folder, 'split', `tiny-Q4_K_M-0000${i}-of-00003.gguf`))),
  );
  assert.equal(
    split.sizeBytes,
    sizes.reduce((n, s) => n + s.size, 0),
  );
  assert.ok(!found.some((m) => /tiny-Q4_K_M-0000[23]-of/.test(m.name)), 'later parts are not models of their own');
  // A part that links out of the folder refuses the whole model, unread.
  const escaping = byName('split/escaping-00001-of-00002.gguf');
  assert.equal(escaping.runnable, false);
  assert.equal(escaping.architecture, null);
  assert.match(escaping.problems[0], /a link that leads outside the folder it was found in/);
});

test('missing roots are simply empty', async () => {
  assert.deepEqual(await discoverModels(discoveryRoots(['/nonexistent/plas'], {}, '/nonexistent/home')), []);
});
