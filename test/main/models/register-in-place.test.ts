/**
 * Registering what discovery finds, where it is: a GGUF file (a .gguf, a link into an HF cache's blobs, an Ollama
 * blob without an extension), a Hugging Face snapshot folder (named after its repository, not its revision); a GGUF
 * the engine cannot run and a file that is not GGUF are refused with the reason. Nothing is copied.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL_DIR } from '../../../main/cli/default-model.ts';
import { ModelFolderError } from '../../../main/server/models/folder-containment.ts';
import { addModel, registerModel } from '../../../main/server/models/registry.ts';
import { type Db, openDatabase } from '../../../main/store/database.ts';
import { ModelsRepository } from '../../../main/store/models-repo.ts';
import { type FakeHome, makeFakeHome, REV } from './fake-trees.ts';

let fake: FakeHome;
let db: Db;
let repo: ModelsRepository;

before(async () => {
  fake = await makeFakeHome(await mkdtemp(join(tmpdir(), 'plas-register-')));
  db = openDatabase(join(fake.home, 'plas.db'));
  repo = new ModelsRepository(db);
});
after(async () => {
  db.close();
  await rm(fake.home, { recursive: true, force: true });
});

test('a GGUF file registers in place with its architecture, quantization and context', async () => {
  const file = join(fake.lmstudio, 'lmstudio-community', 'Tiny-GGUF', 'Tiny-Q4_K_M.gguf');
  const before = await readdir(join(fake.lmstudio, 'lmstudio-community', 'Tiny-GGUF'));
  const record = await addModel(repo, file);
  assert.equal(record.name, 'Tiny-Q4_K_M');
  assert.equal(record.path, file);
  assert.equal(record.architecture, 'LlamaForCausalLM');
  assert.equal(record.dtype, 'q4_k_m');
  assert.equal(record.contextLength, 4096);
  // The complete tiny Llama of gguf-fixture.ts: embedding and output [320, 256], q/o [256, 256], k/v [128, 256],
  // gate/up/down 1024 x 256, three norms of 256.
  assert.equal(record.parameters, 320 * 256 * 2 + 2 * 256 * 256 + 2 * 128 * 256 + 3 * 1024 * 256 + 3 * 256);
  assert.deepEqual(await readdir(join(fake.lmstudio, 'lmstudio-community', 'Tiny-GGUF')), before, 'nothing copied');
  assert.equal(repo.get('Tiny-Q4_K_M')?.path, file);
});

test('a .gguf link in an HF snapshot registers its blob; an Ollama blob registers under the name given', async () => {
  const link = join(fake.hfCache, 'models--acme--tiny-GGUF', 'snapshots', REV, 'tiny-Q4_K_M.gguf');
  const record = await addModel(repo, link);
  assert.equal(record.name, 'tiny-Q4_K_M');
  assert.equal(record.path, await realpath(link));
  assert.match(record.path, /models--acme--tiny-GGUF\/blobs\/[0-9a-f]{64}$/);
  const blob = (await readdir(join(fake.ollama, 'blobs'))).find((b) => !b.startsWith('sha256-b'));
  const ollama = await addModel(repo, join(fake.ollama, 'blobs', blob!), 'tiny:q4');
  assert.equal(ollama.dtype, 'q4_k_m');
});

test('an HF snapshot folder is named after its repository, and registerModel finds it again', async () => {
  const snapshot = join(fake.hfCache, 'models--acme--tiny-llama', 'snapshots', REV);
  const record = await addModel(repo, snapshot);
  assert.equal(record.name, 'tiny-llama');
  assert.equal(record.architecture, 'LlamaForCausalLM');
  assert.equal(await registerModel(repo, snapshot), 'tiny-llama');
});

test('the bundled model registered by another copy of the app keeps its name and moves to this copy', async () => {
  const other = { ...(await addModel(repo, DEFAULT_MODEL_DIR)), name: 'plas-mini' };
  repo.remove(other.name);
  // As another checkout sharing this data folder left it: same name, its own resources folder (gone since).
  repo.add({ ...other, path: join(fake.home, 'old-checkout', 'resources', 'models', 'plas-mini') });
  assert.equal(await registerModel(repo, DEFAULT_MODEL_DIR), 'plas-mini');
  assert.equal(repo.get('plas-mini')?.path, DEFAULT_MODEL_DIR);
  assert.deepEqual(
    repo
      .list()
      .filter((m) => m.name.startsWith('plas-mini'))
      .map((m) => m.name),
    ['plas-mini'],
  );
  // A user's own model that happens to share the name is not taken over.
  repo.remove('plas-mini');
  repo.add({ ...other, path: join(fake.home, 'my-models', 'plas-mini') });
  assert.equal(await registerModel(repo, DEFAULT_MODEL_DIR), 'plas-mini-2');
  repo.remove('plas-mini');
  repo.remove('plas-mini-2');
});

test('a GGUF the engine cannot run, or a file that is not GGUF, is refused with the reason', async () => {
  const q2 = join(fake.hfCache, 'models--acme--tiny-GGUF', 'snapshots', REV, 'tiny-Q2_K.gguf');
  await assert.rejects(addModel(repo, q2), (e: Error) => {
    assert.ok(e instanceof ModelFolderError);
    assert.match(e.message, /tiny-Q2_K\.gguf is not a model PLAS Studio can run: quant type q2_k not supported/);
    return true;
  });
  const gpt2 = join(fake.lmstudio, 'lmstudio-community', 'Tiny-GGUF', 'gpt2-F16.gguf');
  await assert.rejects(addModel(repo, gpt2), /unsupported architecture gpt2/);
  const text = join(fake.home, 'notes.txt');
  await writeFile(text, 'hello, not a model');
  await assert.rejects(
    addModel(repo, text),
    /notes\.txt is a file but not a GGUF model \(it does not start with "GGUF"\)/,
  );
  const truncated = join(fake.home, 'truncated.gguf');
  await writeFile(truncated, Buffer.from('GGUF\x03\x00\x00\x00'));
  await assert.rejects(addModel(repo, truncated), /truncated\.gguf is not a GGUF file PLAS Studio can read: /);
  assert.equal(
    repo.list().some((r) => /Q2_K|gpt2|notes|truncated/.test(r.name)),
    false,
  );
});
