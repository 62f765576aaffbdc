/**
 * Adding a model folder: it is read as the loader would read it (bad folders refused with the loader's reason), and
 * it may not reach outside itself through symlinks (a Hugging Face cache snapshot's links into its blobs are fine).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { ModelConfig } from '../../../engine/model/config.ts';
import { checkFolderContained } from '../../../main/server/models/folder-containment.ts';
import { inspectModelFolder } from '../../../main/server/models/inspect-folder.ts';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';

let dir: string;
let tiny: string;
let config: ModelConfig;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-folder-'));
  tiny = join(dir, 'tiny-llama');
  config = (await writeTinyModel(tiny, { architecture: 'llama', dtype: 'bf16', seed: 3 })).config;
});
after(() => rm(dir, { recursive: true, force: true }));

it('summarizes a folder: architecture, parameters, dtype, context, size on disk', async () => {
  const s = await inspectModelFolder(tiny);
  assert.equal(s.path, tiny);
  assert.equal(s.architecture, 'LlamaForCausalLM');
  assert.equal(s.dtype, 'bf16');
  assert.equal(s.contextLength, config.maxPositionEmbeddings);
  let size = 0;
  for (const f of await readdir(tiny)) size += (await stat(join(tiny, f))).size;
  assert.equal(s.sizeBytes, size);
  // Llama's parameters from its config: attention, MLP and two norms per layer; embeddings, lm_head (untied), norm.
  const c = config;
  const attention = c.hiddenSize * c.headDim * (2 * c.numHeads + 2 * c.numKvHeads);
  const layer = attention + 3 * c.hiddenSize * c.intermediateSize + 2 * c.hiddenSize;
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(s.parameters, c.numLayers * layer + 2 * c.vocabSize * c.hiddenSize + c.hiddenSize);
});

it('refuses folders the loader could not load, with its reason', async () => {
  await assert.rejects(inspectModelFolder('relative/path'), /must be an absolute folder path/);
  await assert.rejects(inspectModelFolder(join(dir, 'missing')), /does not exist/);
  const empty = join(dir, 'empty');
  await mkdir(empty);
  await assert.rejects(inspectModelFolder(empty), /config\.json:? not found/);
  const unsupported = join(dir, 'unsupported');
  await writeTinyModel(unsupported, { architecture: 'llama', dtype: 'f16' });
  await writeFile(join(unsupported, 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'] }));
  await assert.rejects(inspectModelFolder(unsupported), /unsupported architecture GPT2LMHeadModel/);
  const noWeights = join(dir, 'no-weights');
  await writeTinyModel(noWeights, { architecture: 'llama', dtype: 'f16' });
  await rm(join(noWeights, 'model.safetensors'));
  await assert.rejects(inspectModelFolder(noWeights), /no model\.safetensors or model\.safetensors\.index\.json/);
});

it('refuses a symlink that leads out of the folder, also in a subfolder or as a folder', async () => {
  const secret = join(dir, 'secret.txt');
  await writeFile(secret, 'not yours');
  const linked = join(dir, 'linked');
  await writeTinyModel(linked, { architecture: 'llama', dtype: 'f16' });
  await rm(join(linked, 'tokenizer_config.json'));
  await symlink(secret, join(linked, 'tokenizer_config.json'));
  await assert.rejects(
    inspectModelFolder(linked),
    /tokenizer_config\.json links to .*secret\.txt, outside the model folder/,
  );

  const deep = join(dir, 'deep');
  await writeTinyModel(deep, { architecture: 'llama', dtype: 'f16' });
  await mkdir(join(deep, 'sub'));
  await symlink('/', join(deep, 'sub', 'root'));
  await assert.rejects(checkFolderContained(deep), /sub\/root links to \/, outside the model folder/);

  // A link to a file inside the folder is fine.
  const inside = join(dir, 'inside');
  await writeTinyModel(inside, { architecture: 'llama', dtype: 'f16' });
  await rename(join(inside, 'model.safetensors'), join(inside, 'weights.bin'));
  await symlink('weights.bin', join(inside, 'model.safetensors'));
  assert.equal((await inspectModelFolder(inside)).architecture, 'LlamaForCausalLM');
});

it('accepts a Hugging Face cache snapshot whose files link into its blobs', async () => {
  const repo = join(dir, 'hub', 'models--org--tiny');
  const snapshot = join(repo, 'snapshots', 'abc123');
  await mkdir(join(repo, 'blobs'), { recursive: true });
  await mkdir(snapshot, { recursive: true });
  for (const f of await readdir(tiny)) {
    const blob = join(repo, 'blobs', `sha-${f}`);
    await copyFile(join(tiny, f), blob);
    await symlink(join('..', '..', 'blobs', `sha-${f}`), join(snapshot, f));
  }
  const s = await inspectModelFolder(snapshot);
  assert.equal(s.architecture, 'LlamaForCausalLM');
  assert.ok(s.sizeBytes > 0);
});
