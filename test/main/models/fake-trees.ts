/**
 * Fake model folders in each tool's layout, under one temporary home: the Hugging Face cache (snapshots linking into
 * blobs), LM Studio's models folder, Ollama's manifests and blobs, and a plain folder; each with runnable and
 * unrunnable models, and links that lead out of their tree (to a valid GGUF outside, so following one would show).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';
import { type FixtureOptions, LLAMA_Q4_K_M, writeGguf, writeSplitGguf } from './gguf-fixture.ts';

export const REV = 'a'.repeat(40);

/** A Q2_K file: llama.cpp writes it, the engine has no Q2_K kernels. */
export const LLAMA_Q2_K: FixtureOptions = {
  ...LLAMA_Q4_K_M,
  fileType: 10,
  tensors: LLAMA_Q4_K_M.tensors.map((t) => (t.type === 'F32' ? t : { ...t, type: 'Q2_K' })),
};
/** Plausible from its header (a Llama, runnable types, a tokenizer), but a tensor is missing: only the loader sees it. */
export const LLAMA_Q4_K_M_INCOMPLETE: FixtureOptions = {
  ...LLAMA_Q4_K_M,
  tensors: LLAMA_Q4_K_M.tensors.filter((t) => t.name !== 'blk.0.ffn_down.weight'),
};
export const GPT2_F16: FixtureOptions = {
  architecture: 'gpt2',
  fileType: 1,
  contextLength: 1024,
  tensors: [{ name: 'token_embd.weight', shape: [8, 32], type: 'F16' }],
};
export const QWEN3_Q8_0_NO_TOKENIZER: FixtureOptions = {
  architecture: 'qwen3',
  fileType: 7,
  contextLength: 32768,
  tokenizer: false,
  tensors: [{ name: 'token_embd.weight', shape: [8, 64], type: 'Q8_0' }],
};

/** Moves every file of `dir` into the repo's blobs (named by sha256) and leaves relative links, as the hub cache does. */
async function intoBlobs(dir: string, repo: string): Promise<void> {
  await mkdir(join(repo, 'blobs'), { recursive: true });
  for (const name of await readdir(dir)) {
    const file = join(dir, name);
    const etag = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    const blob = join(repo, 'blobs', etag);
    await rename(file, blob);
    await symlink(relative(dirname(file), blob), file);
  }
}

export interface FakeHome {
  home: string;
  hfCache: string;
  lmstudio: string;
  ollama: string;
  folder: string;
  /** A valid GGUF outside every tree: links to it must not be followed. */
  outsideGguf: string;
}

export async function makeFakeHome(home: string): Promise<FakeHome> {
  const outsideGguf = join(home, 'outside', 'secret.gguf');
  await mkdir(dirname(outsideGguf), { recursive: true });
  await writeGguf(outsideGguf, LLAMA_Q4_K_M);

  // Hugging Face: a safetensors model, a GGUF repo with a runnable and an unrunnable file, a link out of the repo.
  const hfCache = join(home, '.cache', 'huggingface', 'hub');
  const tiny = join(hfCache, 'models--acme--tiny-llama');
  const snap = join(tiny, 'snapshots', REV);
  await writeTinyModel(snap, {
    architecture: 'llama',
    dtype: 'f16',
    hiddenSize: 64,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    intermediate: 128,
  });
  await intoBlobs(snap, tiny);
  await mkdir(join(tiny, 'refs'), { recursive: true });
  await writeFile(join(tiny, 'refs', 'main'), REV);
  const ggufRepo = join(hfCache, 'models--acme--tiny-GGUF');
  const ggufSnap = join(ggufRepo, 'snapshots', REV);
  await mkdir(ggufSnap, { recursive: true });
  await writeGguf(join(ggufSnap, 'tiny-Q4_K_M.gguf'), LLAMA_Q4_K_M);
  await writeGguf(join(ggufSnap, 'tiny-Q2_K.gguf'), LLAMA_Q2_K);
  await intoBlobs(ggufSnap, ggufRepo);
  const evil = join(hfCache, 'models--evil--escape', 'snapshots', REV);
  await mkdir(evil, { recursive: true });
  await symlink(outsideGguf, join(evil, 'escape.gguf'));

  // LM Studio: PUBLISHER/MODEL/*.gguf, a vision projector (skipped), a link out, and the older location.
  const lmstudio = join(home, '.lmstudio', 'models');
  const lmModel = join(lmstudio, 'lmstudio-community', 'Tiny-GGUF');
  await mkdir(lmModel, { recursive: true });
  await writeGguf(join(lmModel, 'Tiny-Q4_K_M.gguf'), LLAMA_Q4_K_M);
  await writeGguf(join(lmModel, 'mmproj-Tiny-F16.gguf'), GPT2_F16);
  await writeGguf(join(lmModel, 'gpt2-F16.gguf'), GPT2_F16);
  await symlink(outsideGguf, join(lmModel, 'linked-out.gguf'));
  const oldLm = join(home, '.cache', 'lm-studio', 'models', 'old-pub', 'Qwen-GGUF');
  await mkdir(oldLm, { recursive: true });
  await writeGguf(join(oldLm, 'qwen-Q8_0.gguf'), QWEN3_Q8_0_NO_TOKENIZER);

  // Ollama: a good manifest, one with a digest that is a path, one whose blob links out of blobs/.
  const ollama = join(home, '.ollama', 'models');
  const blobs = join(ollama, 'blobs');
  await mkdir(blobs, { recursive: true });
  const ggufBytes = await readFile(outsideGguf);
  const hex = createHash('sha256').update(ggufBytes).digest('hex');
  await writeFile(join(blobs, `sha256-${hex}`), ggufBytes);
  const manifest = (digest: string) =>
    JSON.stringify({
      schemaVersion: 2,
      layers: [
        { mediaType: 'application/vnd.ollama.image.model', digest, size: ggufBytes.length },
        { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${'0'.repeat(64)}`, size: 10 },
      ],
    });
  const lib = join(ollama, 'manifests', 'registry.ollama.ai', 'library');
  await mkdir(join(lib, 'tiny'), { recursive: true });
  await writeFile(join(lib, 'tiny', 'q4'), manifest(`sha256:${hex}`));
  await mkdir(join(lib, 'sneaky'), { recursive: true });
  await writeFile(join(lib, 'sneaky', 'latest'), manifest('sha256:../../../outside/secret.gguf'));
  const linkedHex = 'b'.repeat(64);
  await symlink(outsideGguf, join(blobs, `sha256-${linkedHex}`));
  await mkdir(join(ollama, 'manifests', 'registry.ollama.ai', 'someone', 'linked'), { recursive: true });
  await writeFile(
    join(ollama, 'manifests', 'registry.ollama.ai', 'someone', 'linked', 'v1'),
    manifest(`sha256:${linkedHex}`),
  );

  // A folder the user adds: a model folder without its tokenizer, a GPT-2 folder, a GGUF deeper down, an incomplete one.
  const folder = join(home, 'my-models');
  const noTok = join(folder, 'no-tokenizer');
  await writeTinyModel(noTok, {
    architecture: 'qwen3',
    dtype: 'bf16',
    hiddenSize: 64,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    intermediate: 128,
  });
  await rename(join(noTok, 'tokenizer.json'), join(folder, 'stray-tokenizer.json'));
  await mkdir(join(folder, 'gpt2'), { recursive: true });
  await writeFile(join(folder, 'gpt2', 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'] }));
  await mkdir(join(folder, 'deep', 'er'), { recursive: true });
  await writeGguf(join(folder, 'deep', 'er', 'deep-Q4_K_M.gguf'), LLAMA_Q4_K_M);
  await writeGguf(join(folder, 'incomplete-Q4_K_M.gguf'), LLAMA_Q4_K_M_INCOMPLETE);
  // A split model (gguf-split's names), and one whose second part is a link out of the folder.
  await mkdir(join(folder, 'split'), { recursive: true });
  await writeSplitGguf(join(folder, 'split', 'tiny-Q4_K_M'), LLAMA_Q4_K_M, 3);
  const [, escaping] = await writeSplitGguf(join(home, 'outside', 'escaping'), LLAMA_Q4_K_M, 2);
  await writeSplitGguf(join(folder, 'split', 'escaping'), LLAMA_Q4_K_M, 2);
  await rm(join(folder, 'split', basename(escaping)));
  await symlink(escaping, join(folder, 'split', basename(escaping)));
  await symlink(join(home, 'outside'), join(folder, 'outside-link'));

  return { home, hfCache, lmstudio, ollama, folder, outsideGguf };
}
