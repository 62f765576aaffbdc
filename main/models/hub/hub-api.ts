/**
 * The hub's file list for one revision of a model: GET {endpoint}/api/models/ORG/NAME/revision/REV?blobs=true, the
 * request huggingface_hub's model_info(files_metadata=True) makes. It gives the commit the revision resolves to and
 * each file's size, git blob id and, for LFS files, the sha256 the downloaded bytes are checked against.
 */
import { PullError, refusal } from './hub-errors.ts';
import { checkRepoPath, encodePath } from './hub-names.ts';

export interface HubFile {
  path: string;
  size: number;
  /** sha256 hex of the bytes (LFS files). */
  sha256: string | null;
  /** git blob sha1 hex (every file). */
  blobId: string | null;
}

export interface HubRevision {
  commit: string;
  files: HubFile[];
}

export interface HubOptions {
  endpoint: string;
  token?: string;
  signal?: AbortSignal;
}

export function hubHeaders(token: string | undefined): Record<string, string> {
  return { 'user-agent': 'plas-studio', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export async function fetchRevision(repo: string, revision: string, options: HubOptions): Promise<HubRevision> {
  const url = `${options.endpoint}/api/models/${encodePath(repo)}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let response: Response;
  try {
    response = await fetch(url, { headers: hubHeaders(options.token), signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw new PullError('the download was cancelled', 'cancelled');
    throw new PullError(`cannot reach ${options.endpoint}: ${(error as Error).message}`, 'network');
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw refusal(response.status, `the model ${repo} (revision ${revision})`, options.endpoint, !!options.token);
  }
  const body = (await response.json().catch(() => null)) as { sha?: unknown; siblings?: unknown } | null;
  const bad = (why: string) =>
    new PullError(`${options.endpoint} gave an unexpected file list for ${repo}: ${why}`, 'bad_answer');
  if (!body || typeof body.sha !== 'string' || !HEX40.test(body.sha)) throw bad('no commit hash (sha)');
  if (!Array.isArray(body.siblings)) throw bad('no file list (siblings)');
  const files = body.siblings.map(
    (s: { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown } }) => {
      if (typeof s?.rfilename !== 'string') throw bad('a file without a name');
      const sha256 = typeof s.lfs?.sha256 === 'string' && HEX64.test(s.lfs.sha256) ? s.lfs.sha256 : null;
      const blobId = typeof s.blobId === 'string' && HEX40.test(s.blobId) ? s.blobId : null;
      if (typeof s.size !== 'number' || !Number.isSafeInteger(s.size) || s.size < 0)
        throw bad(`no size for ${s.rfilename}`);
      return { path: checkRepoPath(s.rfilename), size: s.size, sha256, blobId };
    },
  );
  return { commit: body.sha, files };
}
