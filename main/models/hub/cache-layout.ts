/**
 * The Hugging Face cache layout, as huggingface_hub writes it, so transformers, llama.cpp's -hf and the hub's own
 * tools see what PLAS Studio downloads (and PLAS Studio sees theirs):
 *   <cache>/models--ORG--NAME/blobs/<etag>                   the file's bytes (etag: sha256 for LFS files, else git sha1)
 *   <cache>/models--ORG--NAME/blobs/<etag>.incomplete        a download in progress (resumed with a Range request)
 *   <cache>/models--ORG--NAME/snapshots/<commit>/<path>      a relative symlink to ../../blobs/<etag>
 *   <cache>/models--ORG--NAME/refs/<revision>                the commit the revision pointed to
 */
import { copyFile, mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { checkRepoPath, checkRevision } from './hub-names.ts';

export const repoFolder = (cache: string, repo: string) => join(cache, `models--${repo.split('/').join('--')}`);
export const blobPath = (cache: string, repo: string, etag: string) => join(repoFolder(cache, repo), 'blobs', etag);
export const snapshotFolder = (cache: string, repo: string, commit: string) =>
  join(repoFolder(cache, repo), 'snapshots', commit);
export const snapshotPath = (cache: string, repo: string, commit: string, path: string) =>
  join(snapshotFolder(cache, repo, commit), ...checkRepoPath(path).split('/'));

/** Points snapshots/<commit>/<path> at the blob (replacing an older link there). */
export async function linkSnapshot(cache: string, repo: string, commit: string, path: string, etag: string) {
  const link = snapshotPath(cache, repo, commit, path);
  await mkdir(dirname(link), { recursive: true });
  const target = relative(dirname(link), blobPath(cache, repo, etag));
  // null: nothing there; '' : a regular file (a copy made where symlinks are not allowed), kept.
  const current = await readlink(link).catch((e: NodeJS.ErrnoException) => (e.code === 'EINVAL' ? '' : null));
  if (current === target || current === '') return;
  if (current !== null) await rm(link, { force: true });
  try {
    await symlink(target, link);
  } catch (error) {
    // Windows without Developer Mode may not make symlinks: as huggingface_hub does there, the snapshot gets a copy.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EACCES' && code !== 'UNKNOWN') throw error;
    await copyFile(blobPath(cache, repo, etag), link);
  }
}

/** refs/<revision> = commit, when the revision is a name (a commit asked for by its hash needs no ref). */
export async function writeRef(cache: string, repo: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const ref = join(repoFolder(cache, repo), 'refs', ...checkRevision(revision).split('/'));
  await mkdir(dirname(ref), { recursive: true });
  const temp = `${ref}.${process.pid}.tmp`;
  await writeFile(temp, commit);
  await rename(temp, ref);
}
