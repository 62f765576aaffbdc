/**
 * `plas models pull` and POST /api/models/pull: the files of one revision of a hub model (all, or those matching
 * --file) into the Hugging Face cache, one after the other, each resumable and checked (download-file.ts), then the
 * snapshot links and refs/<revision>, so the result is the folder huggingface_hub itself would have made.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { blobPath, linkSnapshot, snapshotFolder, snapshotPath, writeRef } from './cache-layout.ts';
import { downloadBlob } from './download-file.ts';
import { fetchRevision, type HubFile } from './hub-api.ts';
import { PullError } from './hub-errors.ts';
import { checkRepoId, checkRevision, encodePath, fileMatcher } from './hub-names.ts';
import type { PullPlan, PullProgress, PullResult } from './pull-types.ts';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface PullRequest {
  repo: string;
  /** --file: a glob over the repository's paths ("*Q4_K_M.gguf"). */
  file?: string;
  revision?: string;
  /** The Hugging Face cache folder (roots.ts huggingfaceCache). */
  cache: string;
  endpoint?: string;
  token?: string;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
  /** Called once the file list is known, before any byte is fetched. */
  onStart?: (plan: PullPlan) => void;
}

// What a pull reports lives in an import-free file the renderer imports too.
export type { PullPlan, PullProgress, PullResult } from './pull-types.ts';

/** Which files a pattern picks; without one, every file of the revision. */
function pick(files: HubFile[], pattern: string | undefined, repo: string): HubFile[] {
  const match = fileMatcher(pattern);
  const picked = files.filter((f) => match(f.path));
  if (picked.length === 0) {
    const some = files
      .map((f) => f.path)
      .slice(0, 12)
      .join(', ');
    throw new PullError(
      `no file of ${repo} matches ${JSON.stringify(pattern)} (its files: ${some || 'none'})`,
      'no_files',
    );
  }
  return picked;
}

export async function pullModel(request: PullRequest): Promise<PullResult> {
  const repo = checkRepoId(request.repo);
  const revision = checkRevision(request.revision ?? 'main');
  const endpoint = (request.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const { cache, token, signal } = request;
  const listing = await fetchRevision(repo, revision, { endpoint, token, signal });
  const files = pick(listing.files, request.file, repo);
  // A config.json-less pick of weights is fine (a GGUF); a safetensors pick without its config is not loadable,
  // but it is what was asked for: the register step says so.
  const plan: PullPlan = {
    repo,
    revision,
    commit: listing.commit,
    files: files.map((f) => ({ path: f.path, size: f.size })),
    totalBytes: files.reduce((n, f) => n + f.size, 0),
  };
  request.onStart?.(plan);
  let doneBytes = 0;
  let fetchedBytes = 0;
  for (const [index, file] of files.entries()) {
    if (signal?.aborted) throw new PullError('the download was cancelled', 'cancelled');
    const etag = file.sha256 ?? file.blobId;
    if (!etag) throw new PullError(`${endpoint} lists ${file.path} without a blob id or sha256`, 'bad_answer');
    const dest = blobPath(cache, repo, etag);
    await mkdir(dirname(dest), { recursive: true });
    let fileBytes = 0;
    await downloadBlob({
      url: `${endpoint}/${encodePath(repo)}/resolve/${listing.commit}/${encodePath(file.path)}`,
      dest,
      label: file.path,
      size: file.size,
      sha256: file.sha256,
      blobId: file.blobId,
      endpoint,
      token,
      signal,
      onBytes: (bytes, resumed) => {
        fileBytes += bytes;
        doneBytes += bytes;
        if (!resumed) fetchedBytes += bytes;
        request.onProgress?.({
          file: file.path,
          fileIndex: index,
          fileCount: files.length,
          fileBytes,
          fileTotal: file.size,
          doneBytes,
          totalBytes: plan.totalBytes,
          fetchedBytes,
        });
      },
    });
    await linkSnapshot(cache, repo, listing.commit, file.path, etag);
  }
  await writeRef(cache, repo, revision, listing.commit);
  return {
    ...plan,
    snapshot: snapshotFolder(cache, repo, listing.commit),
    paths: files.map((f) => snapshotPath(cache, repo, listing.commit, f.path)),
    fetchedBytes,
  };
}
